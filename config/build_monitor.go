package config

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"

	"github.com/hmsplatform/synclayer/monitor"
)

// errUnauthorized is the monitor's answer to a request without the token.
var errUnauthorized = errors.New("a bearer token is required")

// monitor builds the monitor's handler, when the configuration has one.
func (b *builder) monitor() error {
	m := b.cfg.Monitor
	if m == nil {
		return nil
	}
	opts := []monitor.Option{monitor.WithWrites(m.Writes)}
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
		want := []byte("Bearer " + token)
		opts = append(opts, monitor.WithAuthorize(func(r *http.Request) error {
			if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) != 1 {
				return errUnauthorized
			}
			return nil
		}))
	}
	h, err := monitor.New(b.svc.Dispatcher, opts...)
	if err != nil {
		return fmt.Errorf("config: monitor: %w", err)
	}
	b.closeWith(func(context.Context) error { return h.Close() })
	b.svc.Monitor = h
	return nil
}
