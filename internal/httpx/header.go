package httpx

import (
	"fmt"
	"net/http"
	"strings"
)

// CheckHeader checks the headers a connector's Config adds to every
// request: each name a valid token (RFC 9110 §5.1), no value holding CR,
// LF or NUL, and no name the connector sets itself (reserved reports those;
// nil reserves none). The error names the header.
func CheckHeader(h http.Header, reserved func(canonical string) bool) error {
	for name, vals := range h {
		if !validToken(name) {
			return fmt.Errorf("header name %q is not a valid token", name)
		}
		if reserved != nil && reserved(http.CanonicalHeaderKey(name)) {
			return fmt.Errorf("header %s is set by the connector", name)
		}
		for _, v := range vals {
			if strings.ContainsAny(v, "\r\n\x00") {
				return fmt.Errorf("header %s: value holds CR, LF or NUL", name)
			}
		}
	}
	return nil
}

// MergeHeader returns defaults with extra's headers added under their
// canonical names, replacing defaults of the same name.
func MergeHeader(defaults, extra http.Header) http.Header {
	out := make(http.Header, len(defaults)+len(extra))
	for k, v := range defaults {
		out[k] = v
	}
	for k, v := range extra {
		out[http.CanonicalHeaderKey(k)] = v
	}
	return out
}

func validToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}
