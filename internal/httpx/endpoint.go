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

// ParseEndpoint parses raw, the connector's Config field named field
// ("Config.LayerURL"), as an absolute http or https URL. Its error says
// which of those raw is not, quoting the URL only with its credentials
// redacted.
func ParseEndpoint(field, raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	switch {
	case raw == "":
		return nil, fmt.Errorf("%s is required", field)
	case err != nil:
		return nil, fmt.Errorf("%s %s", field, URLProblem(err))
	case u.Scheme != "http" && u.Scheme != "https" || u.Host == "":
		return nil, fmt.Errorf("%s %q is not an absolute http(s) URL", field, RedactURL(u, false))
	}
	return u, nil
}
