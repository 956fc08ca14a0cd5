package httpx

import (
	"fmt"
	"net/url"
)

// CheckEndpoint checks a connector's endpoint URL, the Config field named
// field: present, and an absolute http or https URL. The error never
// repeats the URL, whose path or query may be a credential.
func CheckEndpoint(field, raw string) error {
	if raw == "" {
		return fmt.Errorf("%s is required", field)
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%s must be an absolute http or https URL", field)
	}
	return nil
}
