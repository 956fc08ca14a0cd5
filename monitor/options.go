package monitor

import (
	"cmp"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/hmsplatform/synclayer/internal/option"
)

// Option configures a [Handler]. A zero value (0, "", nil) means the
// default; an invalid value makes [New] return an error that names the
// option and wraps synclayer.ErrInvalidOption.
type Option func(*Handler) error

// The defaults of the options.
const (
	defaultTitle              = "synclayer"
	defaultRateWindow         = time.Minute
	defaultStatusInterval     = 2 * time.Second
	defaultTokenTTL           = time.Hour
	defaultMaxStreams         = 64
	defaultStreamWriteTimeout = 10 * time.Second
)

// WithWrites enables the write actions: replay, pause and resume (default:
// false, disabled; they answer 403). Who may use them is decided apart, by
// [WithAuthorize] or the service's own middleware.
func WithWrites(enabled bool) Option {
	return func(h *Handler) error { h.writes = enabled; return nil }
}

// WithTitle sets the dashboard's title (default "synclayer").
func WithTitle(title string) Option {
	return func(h *Handler) error { h.title = option.Default(title, defaultTitle); return nil }
}

// WithRateWindow sets the span over which throughput and error rates are
// computed (default one minute). It must not be negative.
func WithRateWindow(d time.Duration) Option {
	return nonNegative("WithRateWindow", d, defaultRateWindow, func(h *Handler, d time.Duration) { h.rates.window = d })
}

// WithStatusInterval sets how often the live stream sends the connectors'
// status (default 2s). It must not be negative.
func WithStatusInterval(d time.Duration) Option {
	return nonNegative("WithStatusInterval", d, defaultStatusInterval, func(h *Handler, d time.Duration) { h.statusEvery = d })
}

// WithTrustedOrigin accepts write actions whose Origin header is origin
// (scheme://host[:port]) though it is not the request's own host.
// Repeatable. It serves clients that send that Origin and need no CORS: a
// non-browser client or server-side front end that sends its own Origin,
// or a reverse proxy that serves a front end and the monitor under one
// origin but passes the monitor another Host (the browser then sends
// Sec-Fetch-Site same-origin and the front end's Origin).
//
// The monitor does not serve CORS, so this does not let a browser page of
// another origin write: its POST carries the [TokenHeader] header, so the
// browser first sends an OPTIONS preflight, which the monitor answers 405
// without CORS headers, and the page cannot read api/token either. A
// browser front end on another origin needs a proxy that serves it and
// the monitor under one origin.
//
// By default only same-origin browser requests may write. An empty origin
// adds none; a malformed one is an error.
func WithTrustedOrigin(origin string) Option {
	return func(h *Handler) error {
		if origin == "" {
			return nil
		}
		if err := h.cop.AddTrustedOrigin(origin); err != nil {
			return option.Invalid("WithTrustedOrigin", origin, err.Error())
		}
		h.trusted = append(h.trusted, strings.ToLower(origin))
		return nil
	}
}

// WithAuthorize adds a check that runs before every request the handler
// serves, the page and its assets included. A non-nil error refuses the
// request: with 401 when it wraps [ErrUnauthenticated] (with a
// WWW-Authenticate header when the error gives a challenge; see
// [ErrUnauthenticated]), else with 403. The
// answer's body is generic; the error's text is never sent. Checks added
// by several WithAuthorize options all run, in order. A nil fn adds none
// (the default: no check).
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
// foreign name. The default (no hosts) allows only the loopback names
// (localhost, 127.0.0.1 and [::1]) with the port the request came in on; a
// service reached by another name must list it. Names are compared
// case-blind. A value that is not a host name or host:port is an error.
func WithAllowedHosts(hosts ...string) Option {
	return func(h *Handler) error {
		for _, s := range hosts {
			hp, ok := parseHostPattern(s)
			if !ok {
				return option.Invalid("WithAllowedHosts", strings.Join(hosts, ","), "want host names or host:port, got "+s)
			}
			h.hosts = append(h.hosts, hp)
		}
		return nil
	}
}

// WithTokenTTL sets how long a session and its CSRF tokens stay valid
// (default 1h). The dashboard renews both when half the
// time has passed, so an open page keeps working; a page left closed
// longer must be loaded again. A value other than 0 must be at least a
// second.
func WithTokenTTL(d time.Duration) Option {
	return func(h *Handler) error {
		if d != 0 && d < time.Second {
			return option.Invalid("WithTokenTTL", d, "must be at least 1s")
		}
		h.tokenTTL = option.Default(d, defaultTokenTTL)
		return nil
	}
}

// WithMaxStreams bounds the live streams served at once (default
// 64); one more answers 503. It must not be negative.
func WithMaxStreams(n int) Option {
	return nonNegative("WithMaxStreams", n, defaultMaxStreams, func(h *Handler, n int) { h.maxStreams = int64(n) })
}

// WithStreamWriteTimeout sets how long one write to a live stream may take
// before the stream is ended as stalled (default
// 10s). It must not be negative.
func WithStreamWriteTimeout(d time.Duration) Option {
	return nonNegative("WithStreamWriteTimeout", d, defaultStreamWriteTimeout, func(h *Handler, d time.Duration) { h.writeTimeout = d })
}

// WithLogger sets where the handler reports the errors its answers do
// not carry: the error of a delivery log or freshness ledger that could
// not be read (a 503), and the store, log or publisher error that stopped
// a write action or failed one of its pushes. The answer itself carries a
// fixed text only, since such an error can name a database host, a user
// or SQL. Default, and for nil: nowhere.
func WithLogger(l *slog.Logger) Option {
	return func(h *Handler) error { h.log = l; return nil }
}

// nonNegative is the option name that sets v, or def when v is zero, with
// set; a negative v is an error.
func nonNegative[T cmp.Ordered](name string, v, def T, set func(*Handler, T)) Option {
	return func(h *Handler) error {
		var got T
		if err := option.Set(name, v, def, &got); err != nil {
			return err
		}
		set(h, got)
		return nil
	}
}
