package monitor

import (
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Option configures a [Handler].
type Option func(*Handler) error

// WithWrites enables the write actions: replay, pause and resume (default:
// disabled; they answer 403). Who may use them is decided apart, by
// [WithAuthorize] or the service's own middleware.
func WithWrites(enabled bool) Option {
	return func(h *Handler) error { h.writes = enabled; return nil }
}

// WithTitle sets the dashboard's title (default "synclayer").
func WithTitle(title string) Option {
	return func(h *Handler) error { h.title = title; return nil }
}

// WithRateWindow sets the span over which throughput and error rates are
// computed (default one minute).
func WithRateWindow(d time.Duration) Option {
	return func(h *Handler) error {
		if d <= 0 {
			return fmt.Errorf("monitor: rate window %v is not positive", d)
		}
		h.rates.window = d
		return nil
	}
}

// WithStatusInterval sets how often the live stream sends the connectors'
// status (default 2s).
func WithStatusInterval(d time.Duration) Option {
	return func(h *Handler) error {
		if d <= 0 {
			return fmt.Errorf("monitor: status interval %v is not positive", d)
		}
		h.statusEvery = d
		return nil
	}
}

// WithTrustedOrigin lets write actions come from a page of another origin
// (scheme://host[:port]), such as a separate admin front end. By default
// only same-origin browser requests may write.
func WithTrustedOrigin(origin string) Option {
	return func(h *Handler) error {
		if err := h.cop.AddTrustedOrigin(origin); err != nil {
			return fmt.Errorf("monitor: trusted origin: %w", err)
		}
		h.trusted = append(h.trusted, strings.ToLower(origin))
		return nil
	}
}

// WithAuthorize adds a check that runs before every request the handler
// serves, the page and its assets included. A non-nil error refuses the
// request: with 401 when it wraps [ErrUnauthenticated], else with 403. The
// answer's body is generic; the error's text is never sent. Checks added
// by several WithAuthorize options all run, in order. A nil fn is ignored.
//
// Authorization is apart from [WithWrites]: fn may look at r.Method (GET
// and HEAD read, POST writes) to let some users read only.
func WithAuthorize(fn func(r *http.Request) error) Option {
	return func(h *Handler) error {
		if fn != nil {
			h.authorize = append(h.authorize, fn)
		}
		return nil
	}
}

// WithAllowedHosts sets the names the Host header of a request may carry,
// as "name" (any port) or "name:port" ("[::1]:8080" for IPv6). A request
// for another host answers 403, which defeats DNS rebinding: a page of a
// foreign site whose name was pointed at the service's address sends that
// foreign name. The default allows only the loopback names (localhost,
// 127.0.0.1 and [::1]) with the port the request came in on; a service
// reached by another name must list it. Names are compared case-blind.
func WithAllowedHosts(hosts ...string) Option {
	return func(h *Handler) error {
		for _, s := range hosts {
			hp, err := parseHostPattern(s)
			if err != nil {
				return err
			}
			h.hosts = append(h.hosts, hp)
		}
		return nil
	}
}

// WithTokenTTL sets how long a session and its CSRF tokens stay valid
// (default 1h). The dashboard renews both when half the time has passed,
// so an open page keeps working; a page left closed longer must be loaded
// again. d must be at least a second.
func WithTokenTTL(d time.Duration) Option {
	return func(h *Handler) error {
		if d < time.Second {
			return fmt.Errorf("monitor: token TTL %v is under a second", d)
		}
		h.tokenTTL = d
		return nil
	}
}

// WithMaxStreams bounds the live streams served at once (default 64); one
// more answers 503.
func WithMaxStreams(n int) Option {
	return func(h *Handler) error {
		if n < 1 {
			return fmt.Errorf("monitor: max streams %d is under 1", n)
		}
		h.maxStreams = int64(n)
		return nil
	}
}

// WithStreamWriteTimeout sets how long one write to a live stream may take
// before the stream is ended as stalled (default 10s).
func WithStreamWriteTimeout(d time.Duration) Option {
	return func(h *Handler) error {
		if d <= 0 {
			return fmt.Errorf("monitor: stream write timeout %v is not positive", d)
		}
		h.writeTimeout = d
		return nil
	}
}

// hostPattern is one allowed host: a lower-case name without brackets,
// and a port ("" for any).
type hostPattern struct{ name, port string }

func parseHostPattern(s string) (hostPattern, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	name, port, err := net.SplitHostPort(s)
	if err != nil {
		name, port = strings.TrimSuffix(strings.TrimPrefix(s, "["), "]"), ""
	}
	if _, err := strconv.ParseUint(port, 10, 16); port != "" && err != nil {
		name = ""
	}
	if name == "" || strings.ContainsAny(s, "/ \t\r\n@?#") {
		return hostPattern{}, fmt.Errorf("monitor: allowed host %q is not a host name or host:port", s)
	}
	return hostPattern{strings.TrimSuffix(name, "."), port}, nil
}
