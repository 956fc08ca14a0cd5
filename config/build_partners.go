package config

import (
	"context"

	"github.com/hmsplatform/synclayer"
)

// partners builds one connector per partner and registers it.
func (b *builder) partners(ctx context.Context) ([]synclayer.Option, error) {
	reg := new(synclayer.Registry)
	b.svc.Registry = reg
	for _, p := range b.cfg.Partners {
		k := b.cfg.kinds[p.Kind]
		bind := &Binding{Name: p.Name, Concurrency: p.Concurrency, file: b.cfg.file, secrets: b.sec}
		conn, err := k.New(ctx, bind, p.settings)
		if err != nil {
			if _, ok := err.(*Error); ok {
				return nil, Errors{err.(*Error)}
			}
			return nil, b.fail(p.path+".settings", "connector %s: %v", p.Kind, err)
		}
		if c, ok := conn.(interface{ Close() error }); ok {
			b.closeWith(func(context.Context) error { return c.Close() })
		}
		opts := partnerOptions(p)
		for _, r := range p.Routes {
			opts = append(opts, synclayer.Route(r.EventType, r.mapping))
		}
		if err := reg.Register(p.Name, conn, opts...); err != nil {
			return nil, b.fail(p.path, "%v", err)
		}
	}
	return nil, nil
}

// partnerOptions are a partner's delivery options.
func partnerOptions(p Partner) []synclayer.ConnectorOption {
	var opts []synclayer.ConnectorOption
	if r := p.Retry; r != nil {
		opts = append(opts, synclayer.WithRetry(synclayer.RetryPolicy{MaxAttempts: r.MaxAttempts,
			InitialInterval: r.InitialInterval, MaxInterval: r.MaxInterval, MaxElapsed: r.MaxElapsed,
			Multiplier: r.Multiplier, Jitter: jitter(r.Jitter)}))
	}
	if p.Timeout > 0 {
		opts = append(opts, synclayer.WithTimeout(p.Timeout))
	}
	if p.Concurrency > 0 {
		opts = append(opts, synclayer.WithConcurrency(p.Concurrency))
	}
	if r := p.RateLimit; r != nil {
		opts = append(opts, synclayer.WithRateLimit(r.PerSecond, r.Burst))
	}
	if br := p.Breaker; br != nil {
		opts = append(opts, synclayer.WithBreaker(synclayer.BreakerPolicy{Window: br.Window,
			MinRequests: br.MinRequests, FailureRate: br.FailureRate, OpenFor: br.OpenFor}))
	}
	return opts
}

// jitter is a partner's retry.jitter as [synclayer.RetryPolicy] takes it:
// 0 (the default) when the file gives none, and a negative number (off)
// when it gives 0.
func jitter(j *float64) float64 {
	switch {
	case j == nil:
		return 0
	case *j == 0:
		return -1
	}
	return *j
}
