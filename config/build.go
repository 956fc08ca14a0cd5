package config

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/internal/option"
)

// Bus is an event bus the dispatcher consumes and announces on.
type Bus interface {
	synclayer.Publisher
	synclayer.Subscriber
}

// Service is a built configuration: the dispatcher over its registry, and
// the bus, store, log and monitor it uses. Run it with [Service.Run];
// release it with [Service.Close]. A Service is safe for concurrent use.
type Service struct {
	Dispatcher *synclayer.Dispatcher
	Registry   *synclayer.Registry
	Bus        Bus
	Monitor    http.Handler // nil when the configuration has no monitor section

	cfg     *Config
	pings   []func(context.Context) error
	closers []func(context.Context) error
	secrets []string
}

// BuildOption configures [Build]. A nil BuildOption is skipped.
type BuildOption func(*buildOptions) error

type buildOptions struct {
	getenv   func(string) (string, bool)
	logger   *slog.Logger
	observer synclayer.Observer
	dopts    []synclayer.Option
}

// WithLookupEnv sets how ${env:NAME} references are resolved (default
// os.LookupEnv).
func WithLookupEnv(f func(string) (string, bool)) BuildOption {
	return func(o *buildOptions) error {
		if f != nil {
			o.getenv = f
		}
		return nil
	}
}

// WithLogger sets the logger of the dispatcher's observer, the bus
// adapters and the monitor, which logs there why it answered 503
// (default slog.Default()).
func WithLogger(l *slog.Logger) BuildOption {
	return func(o *buildOptions) error {
		if l != nil {
			o.logger = l
		}
		return nil
	}
}

// WithObserver adds an observer beside the log observer (default: none).
func WithObserver(obs synclayer.Observer) BuildOption {
	return func(o *buildOptions) error { o.observer = obs; return nil }
}

// WithDispatcherOptions adds options to the dispatcher, after those of
// the configuration.
func WithDispatcherOptions(opts ...synclayer.Option) BuildOption {
	return func(o *buildOptions) error { o.dopts = append(o.dopts, opts...); return nil }
}

// Build resolves the configuration's secrets and constructs what it
// names: the bus, the store, the log, a connector per partner (registered
// with its routes, retry, timeout, concurrency, rate limit and breaker),
// the dispatcher and the monitor. Nothing is consumed until
// [Service.Run]. A problem is an [Errors] naming its place in the file;
// on error, whatever was opened is closed.
func Build(ctx context.Context, cfg *Config, opts ...BuildOption) (_ *Service, err error) {
	o := buildOptions{getenv: os.LookupEnv, logger: slog.Default()}
	if err := option.Apply("config: Build", &o, opts); err != nil {
		return nil, err
	}
	sec := osSecrets(cfg.dir)
	sec.getenv = o.getenv
	s := &Service{cfg: cfg}
	defer func() {
		if err != nil {
			_ = s.Close(context.WithoutCancel(ctx))
		}
	}()
	b := &builder{cfg: cfg, sec: sec, svc: s, log: o.logger}
	dopts := []synclayer.Option{synclayer.WithObserver(synclayer.LogObserver(o.logger), o.observer)}
	for _, step := range []func(context.Context) ([]synclayer.Option, error){b.partners, b.store, b.deliveryLog, b.bus} {
		more, err := step(ctx)
		if err != nil {
			return nil, err
		}
		dopts = append(dopts, more...)
	}
	dopts = append(dopts, b.dispatcherOptions()...)
	dopts = append(dopts, o.dopts...)
	d, err := synclayer.NewDispatcher(s.Registry, dopts...)
	if err != nil {
		return nil, fmt.Errorf("config: build dispatcher: %w", err)
	}
	s.Dispatcher = d
	if err := b.monitor(); err != nil {
		return nil, err
	}
	s.secrets = sec.values
	return s, nil
}

// builder holds the state of one Build.
type builder struct {
	cfg *Config
	sec *secrets
	svc *Service
	log *slog.Logger

	storeDB    *sql.DB     // the store's database, when the log shares it
	storeRedis *storeRedis // the store's Redis, when the log may share it
}

// fail reports a problem at the place of a field path.
func (b *builder) fail(path string, format string, args ...any) error {
	v := &validator{d: newDecoder(b.cfg.file), cfg: b.cfg}
	v.d.places = b.cfg.places
	v.at(path, format, args...)
	return v.d.errs
}

// value resolves a Value setting of a section.
func (b *builder) value(v Value) (string, error) {
	if !v.secret.Set() {
		return v.lit, nil
	}
	s, err := b.sec.resolve(b.cfg.file, v.secret)
	if err != nil {
		return "", Errors{err}
	}
	return s, nil
}

// address resolves an address setting of a section, such as a Kafka
// broker: the text written in the file, or its reference's value, which
// is not kept as a secret's (see [Binding.URL]).
func (b *builder) address(v Value) (string, error) {
	if !v.secret.Set() {
		return v.lit, nil
	}
	s, err := b.sec.lookup(b.cfg.file, v.secret, "reference")
	if err != nil {
		return "", Errors{err}
	}
	return s, nil
}

// closeWith registers a release, run by Close in reverse order.
func (b *builder) closeWith(f func(context.Context) error) { b.svc.closers = append(b.svc.closers, f) }

// pingWith registers a readiness check.
func (b *builder) pingWith(f func(context.Context) error) { b.svc.pings = append(b.svc.pings, f) }

func (b *builder) dispatcherOptions() []synclayer.Option {
	d := b.cfg.Dispatcher
	var out []synclayer.Option
	if d.Source != "" {
		out = append(out, synclayer.WithSource(d.Source))
	}
	if d.DrainTimeout > 0 {
		out = append(out, synclayer.WithDrainTimeout(d.DrainTimeout))
	}
	if d.LeaseTTL > 0 {
		out = append(out, synclayer.WithLeaseTTL(d.LeaseTTL))
	}
	if d.Retention > 0 {
		out = append(out, synclayer.WithRetention(d.Retention))
	}
	if d.MaxEventBytes > 0 {
		out = append(out, synclayer.WithMaxEventBytes(d.MaxEventBytes))
	}
	return out
}

// EventTypes returns the event types the partners route, in the order of
// the file.
func (s *Service) EventTypes() []string {
	var out []string
	seen := map[string]bool{}
	for _, p := range s.cfg.Partners {
		for _, r := range p.Routes {
			if !seen[r.EventType] {
				seen[r.EventType] = true
				out = append(out, r.EventType)
			}
		}
	}
	return out
}

// Run consumes the bus until ctx ends, then drains in-flight pushes
// within the drain timeout ([synclayer.Dispatcher.Run]).
func (s *Service) Run(ctx context.Context) error { return s.Dispatcher.Run(ctx, s.Bus) }

// Ready reports whether the bus and the store answer.
func (s *Service) Ready(ctx context.Context) error {
	for _, p := range s.pings {
		if err := p(ctx); err != nil {
			return err
		}
	}
	return nil
}

// Secrets returns the values of the secrets Build resolved, so that a
// program can check its own output for them. Do not print them.
func (s *Service) Secrets() []string { return append([]string(nil), s.secrets...) }

// Close releases what [Build] constructed, in reverse order of
// construction (connectors, store, log, bus, dispatcher, monitor): the
// monitor, the bus, the log, the store, then the connectors.
func (s *Service) Close(ctx context.Context) error {
	var errs []error
	for i := len(s.closers) - 1; i >= 0; i-- {
		if err := s.closers[i](ctx); err != nil {
			errs = append(errs, err)
		}
	}
	s.closers = nil
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("config: close: %w", err)
	}
	return nil
}
