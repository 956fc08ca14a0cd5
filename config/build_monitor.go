package config

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"net/http"
	"strings"

	"github.com/hmsplatform/synclayer/monitor"
)

// errUnauthorized refuses a request without the monitor's token: it wraps
// monitor.ErrUnauthenticated, so the monitor answers 401, and gives the
// Bearer challenge for the answer's WWW-Authenticate header.
var errUnauthorized error = unauthorizedError{}

type unauthorizedError struct{}

func (unauthorizedError) Error() string     { return "config: monitor: a bearer token is required" }
func (unauthorizedError) Unwrap() error     { return monitor.ErrUnauthenticated }
func (unauthorizedError) Challenge() string { return `Bearer realm="synclayer monitor"` }

// bearerCheck returns a monitor.WithAuthorize check that admits a request
// whose Authorization header is "Bearer <token>", the scheme matched in
// any case (RFC 7235). The token is compared by SHA-256 digest in constant
// time, so neither its content nor its length shows in the timing.
func bearerCheck(token string) func(r *http.Request) error {
	want := sha256.Sum256([]byte(token))
	return func(r *http.Request) error {
		scheme, cred, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		cred = strings.TrimLeft(cred, " ")
		got := sha256.Sum256([]byte(cred))
		match := subtle.ConstantTimeCompare(got[:], want[:]) == 1
		if !strings.EqualFold(scheme, "Bearer") || cred == "" || !match {
			return errUnauthorized
		}
		return nil
	}
}

// monitor builds the monitor's handler, when the configuration has one.
func (b *builder) monitor() error {
	m := b.cfg.Monitor
	if m == nil {
		return nil
	}
	opts := []monitor.Option{monitor.WithWrites(m.Writes), monitor.WithLogger(b.log)}
	if m.Title != "" {
		opts = append(opts, monitor.WithTitle(m.Title))
	}
	if len(m.AllowedHosts) > 0 {
		opts = append(opts, monitor.WithAllowedHosts(m.AllowedHosts...))
	}
	for _, o := range m.TrustedOrigins {
		opts = append(opts, monitor.WithTrustedOrigin(o))
	}
	if m.Token.Set() {
		token, err := b.sec.resolve(b.cfg.file, m.Token)
		if err != nil {
			return Errors{err}
		}
		opts = append(opts, monitor.WithAuthorize(bearerCheck(token)))
	}
	h, err := monitor.New(b.svc.Dispatcher, opts...)
	if err != nil {
		return fmt.Errorf("config: monitor: %w", err)
	}
	b.closeWith(func(context.Context) error { return h.Close() })
	b.svc.Monitor = h
	return nil
}
