package monitor

import (
	"errors"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// ErrUnauthenticated, wrapped by an error of a [WithAuthorize] check,
// makes the handler answer 401 instead of 403. When an error in the
// error's chain has a method Challenge() string, the 401 answer carries
// its result as the WWW-Authenticate header (RFC 7235), such as
// `Bearer realm="ops"`; else the answer has no such header.
var ErrUnauthenticated = errors.New("monitor: unauthenticated")

// challenger is an authorization error that names the challenge of its
// 401 answer.
type challenger interface {
	error
	Challenge() string
}

// loopback are the host names allowed by default.
var loopback = []string{"localhost", "127.0.0.1", "::1"}

// admit runs the checks every request passes: the Host header, then the
// authorization hooks. It answers the refusal itself and reports whether
// the request may go on.
func (h *Handler) admit(w http.ResponseWriter, r *http.Request) bool {
	if !h.hostAllowed(r) {
		writeError(w, http.StatusForbidden, "monitor: host not allowed")
		return false
	}
	for _, fn := range h.authorize {
		if err := fn(r); err != nil {
			if errors.Is(err, ErrUnauthenticated) {
				if c, ok := errors.AsType[challenger](err); ok && c.Challenge() != "" {
					w.Header().Set("WWW-Authenticate", c.Challenge())
				}
				writeError(w, http.StatusUnauthorized, "monitor: authentication required")
			} else {
				writeError(w, http.StatusForbidden, "monitor: access denied")
			}
			return false
		}
	}
	return true
}

// hostAllowed reports whether r's Host header names an allowed host.
func (h *Handler) hostAllowed(r *http.Request) bool {
	name, port := splitHost(r.Host)
	if name == "" {
		return false
	}
	if port == "" {
		port = "80"
		if r.TLS != nil {
			port = "443"
		}
	}
	if len(h.hosts) > 0 {
		for _, p := range h.hosts {
			if p.name == name && (p.port == "" || p.port == port) {
				return true
			}
		}
		return false
	}
	if !slices.Contains(loopback, name) {
		return false
	}
	// The listener's own port, when the server tells it.
	if a, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		if ta, ok := a.(*net.TCPAddr); ok {
			return strconv.Itoa(ta.Port) == port
		}
	}
	return true
}

// splitHost splits a Host header into a lower-case name (no brackets, no
// trailing dot) and a port ("" when absent).
func splitHost(host string) (name, port string) {
	host = strings.ToLower(host)
	if n, p, err := net.SplitHostPort(host); err == nil {
		name, port = n, p
	} else {
		name = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	}
	return strings.TrimSuffix(name, "."), port
}

// originAllowed reports whether a write's Origin header, when present,
// is the request's own host or a trusted origin. (Browsers send Origin
// with every POST; other clients need not.)
//
// The names must be equal. A port absent from the Origin is its scheme's
// default (http 80, https 443). When the request came over TLS to this
// server, its Host without a port means 443 and the ports must be equal.
// When it came over plain HTTP with a Host without a port, the request
// may have been passed on by a TLS-terminating proxy (r.TLS is nil there,
// though the browser spoke https), so an Origin on its scheme's default
// port, http or https, is accepted. X-Forwarded-* headers are not read.
func (h *Handler) originAllowed(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		return true
	}
	if slices.Contains(h.trusted, strings.ToLower(o)) {
		return true
	}
	u, err := url.Parse(o)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return false
	}
	on, op := splitHost(u.Host)
	rn, rp := splitHost(r.Host)
	if on != rn {
		return false
	}
	def := map[string]string{"http": "80", "https": "443"}[u.Scheme]
	if op == "" {
		op = def
	}
	if rp == "" {
		if r.TLS == nil {
			// Plain HTTP here, perhaps https at a proxy in front.
			return op == def
		}
		rp = "443"
	}
	return op == rp
}

// hostPattern is one allowed host: a lower-case name without brackets,
// and a port ("" for any).
type hostPattern struct{ name, port string }

// parseHostPattern reads "name" or "name:port"; ok is false when s is
// neither.
func parseHostPattern(s string) (hp hostPattern, ok bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	name, port, err := net.SplitHostPort(s)
	if err != nil {
		name, port = strings.TrimSuffix(strings.TrimPrefix(s, "["), "]"), ""
	}
	if _, err := strconv.ParseUint(port, 10, 16); port != "" && err != nil {
		name = ""
	}
	if name == "" || strings.ContainsAny(s, "/ \t\r\n@?#") {
		return hostPattern{}, false
	}
	return hostPattern{strings.TrimSuffix(name, "."), port}, true
}
