package otelsync

import (
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/hmsplatform/synclayer/internal/option"
)

// Option configures an [Observer]. A nil value means the default. To turn
// traces or metrics off, pass the no-op provider of
// go.opentelemetry.io/otel/trace/noop or go.opentelemetry.io/otel/metric/noop.
type Option func(*config) error

type config struct {
	tp   trace.TracerProvider
	mp   metric.MeterProvider
	prop propagation.TextMapPropagator
}

// newConfig applies opts over the defaults.
func newConfig(opts []Option) (config, error) {
	var c config
	if err := option.Apply("otelsync: New", &c, opts); err != nil {
		return c, err
	}
	if c.tp == nil {
		c.tp = otel.GetTracerProvider()
	}
	if c.mp == nil {
		c.mp = otel.GetMeterProvider()
	}
	if c.prop == nil {
		c.prop = propagation.TraceContext{}
	}
	return c, nil
}

// WithTracerProvider sets where spans go (default, and for nil:
// [otel.GetTracerProvider] at the time of [New]).
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(c *config) error { c.tp = tp; return nil }
}

// WithMeterProvider sets where metrics go (default, and for nil:
// [otel.GetMeterProvider] at the time of [New]).
func WithMeterProvider(mp metric.MeterProvider) Option {
	return func(c *config) error { c.mp = mp; return nil }
}

// WithPropagator sets how the publisher's trace context is read from
// Event.Meta (default, and for nil: the W3C Trace Context propagator, which
// reads the "traceparent" and "tracestate" entries).
func WithPropagator(p propagation.TextMapPropagator) Option {
	return func(c *config) error { c.prop = p; return nil }
}
