package otelsync

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/hmsplatform/synclayer"
)

// ScopeName is the instrumentation scope of the tracer and meter.
const ScopeName = "github.com/hmsplatform/synclayer/otelsync"

// Attribute keys set on spans and metric points.
const (
	AttrEventID     = attribute.Key("synclayer.event.id")
	AttrEventType   = attribute.Key("synclayer.event.type")
	AttrEventSource = attribute.Key("synclayer.event.source")
	AttrConnector   = attribute.Key("synclayer.connector")
	AttrKey         = attribute.Key("synclayer.key")
	AttrAttempt     = attribute.Key("synclayer.attempt")
	AttrRetryIn     = attribute.Key("synclayer.retry_in_ms")
	AttrStatus      = attribute.Key("synclayer.status")
	AttrOutcome     = attribute.Key("synclayer.outcome")
	AttrBreaker     = attribute.Key("synclayer.breaker.state")
)

// Metric names.
const (
	MetricDeliveries      = "synclayer.deliveries"
	MetricAttemptDuration = "synclayer.attempt.duration"
	MetricRetries         = "synclayer.retries"
	MetricInFlight        = "synclayer.events.in_flight"
	MetricBreakerState    = "synclayer.breaker.state"
	MetricBreakerChanges  = "synclayer.breaker.transitions"
	MetricDeadLetters     = "synclayer.dead_letters"
	MetricConnInFlight    = "synclayer.connector.in_flight"
	MetricConnPending     = "synclayer.connector.pending"
)

// Option configures an [Observer].
type Option func(*config)

type config struct {
	tp   trace.TracerProvider
	mp   metric.MeterProvider
	prop propagation.TextMapPropagator
}

// WithTracerProvider sets where spans go (default: [otel.GetTracerProvider]).
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(c *config) { c.tp = tp }
}

// WithMeterProvider sets where metrics go (default: [otel.GetMeterProvider]).
func WithMeterProvider(mp metric.MeterProvider) Option {
	return func(c *config) { c.mp = mp }
}

// WithPropagator sets how the publisher's trace context is read from
// Event.Meta (default: the W3C Trace Context propagator, which reads the
// "traceparent" and "tracestate" entries).
func WithPropagator(p propagation.TextMapPropagator) Option {
	return func(c *config) { c.prop = p }
}

// Observer is a [synclayer.Observer] that emits OpenTelemetry traces and
// metrics. It also implements [synclayer.EventObserver] and
// [synclayer.BreakerObserver]. It is safe for concurrent use.
type Observer struct {
	tracer trace.Tracer
	meter  metric.Meter
	prop   propagation.TextMapPropagator

	deliveries   metric.Int64Counter
	duration     metric.Float64Histogram
	retries      metric.Int64Counter
	inFlight     metric.Int64UpDownCounter
	breakerState metric.Int64Gauge
	breakerMoves metric.Int64Counter
	dead         metric.Int64Counter

	sets sync.Map // setKey -> metric.MeasurementOption, so hot paths do not rebuild attribute sets
}

// setKey names a metric attribute set: a connector and, for some
// instruments, one more attribute.
type setKey struct {
	connector string
	extra     attribute.Key
	value     string
}

// attrs returns the cached measurement option for the connector and the
// extra attribute (none when extra is "").
func (o *Observer) attrs(connector string, extra attribute.Key, value string) metric.MeasurementOption {
	k := setKey{connector, extra, value}
	if v, ok := o.sets.Load(k); ok {
		return v.(metric.MeasurementOption)
	}
	kv := []attribute.KeyValue{AttrConnector.String(connector)}
	if extra != "" {
		kv = append(kv, extra.String(value))
	}
	opt := metric.WithAttributeSet(attribute.NewSet(kv...))
	v, _ := o.sets.LoadOrStore(k, opt)
	return v.(metric.MeasurementOption)
}

var (
	_ synclayer.Observer        = (*Observer)(nil)
	_ synclayer.EventObserver   = (*Observer)(nil)
	_ synclayer.BreakerObserver = (*Observer)(nil)
)

// New returns an Observer. Nil options are ignored. It fails only when the
// meter provider refuses to create an instrument.
func New(opts ...Option) (*Observer, error) {
	var c config
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
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
	o := &Observer{
		tracer: c.tp.Tracer(ScopeName),
		meter:  c.mp.Meter(ScopeName),
		prop:   c.prop,
	}
	var errs []error
	add := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	var err error
	o.deliveries, err = o.meter.Int64Counter(MetricDeliveries, metric.WithUnit("{delivery}"),
		metric.WithDescription("Route outcomes, by connector and status (synced, duplicate, stale, pending, failed)."))
	add(err)
	o.duration, err = o.meter.Float64Histogram(MetricAttemptDuration, metric.WithUnit("s"),
		metric.WithDescription("Duration of each call of Connector.Sync, by connector and outcome (ok, error)."),
		metric.WithExplicitBucketBoundaries(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
	add(err)
	o.retries, err = o.meter.Int64Counter(MetricRetries, metric.WithUnit("{attempt}"),
		metric.WithDescription("Attempts after the first one of a route, by connector."))
	add(err)
	o.inFlight, err = o.meter.Int64UpDownCounter(MetricInFlight, metric.WithUnit("{event}"),
		metric.WithDescription("Events being dispatched now."))
	add(err)
	o.breakerState, err = o.meter.Int64Gauge(MetricBreakerState, metric.WithUnit("1"),
		metric.WithDescription("Circuit breaker state by connector: 0 closed, 1 open, 2 half-open."))
	add(err)
	o.breakerMoves, err = o.meter.Int64Counter(MetricBreakerChanges, metric.WithUnit("{transition}"),
		metric.WithDescription("Circuit breaker state changes, by connector and new state."))
	add(err)
	o.dead, err = o.meter.Int64Counter(MetricDeadLetters, metric.WithUnit("{delivery}"),
		metric.WithDescription("Routes that failed for good (dead letters), by connector."))
	add(err)
	if len(errs) > 0 {
		return nil, fmt.Errorf("otelsync: create instruments: %w", errors.Join(errs...))
	}
	return o, nil
}

type eventSpanKey struct{}

// StartEvent implements [synclayer.EventObserver]: it starts the event's
// span, of kind consumer, named "sync " + the event type. When Event.Meta
// carries a valid "traceparent", the span joins the publisher's trace: it
// is the publisher span's child, or, when ctx already holds a span of this
// process (a bus adapter's, say), that span's child with a link to the
// publisher's.
func (o *Observer) StartEvent(ctx context.Context, ev synclayer.Event) context.Context {
	opts := []trace.SpanStartOption{
		trace.WithSpanKind(trace.SpanKindConsumer),
		trace.WithAttributes(AttrEventID.String(ev.ID), AttrEventType.String(ev.Type)),
	}
	if ev.Source != "" {
		opts = append(opts, trace.WithAttributes(AttrEventSource.String(ev.Source)))
	}
	parent := ctx
	if len(ev.Meta) > 0 {
		remote := trace.SpanContextFromContext(o.prop.Extract(context.Background(), propagation.MapCarrier(ev.Meta)))
		if remote.IsValid() {
			if trace.SpanContextFromContext(ctx).IsValid() {
				opts = append(opts, trace.WithLinks(trace.Link{SpanContext: remote}))
			} else {
				parent = o.prop.Extract(ctx, propagation.MapCarrier(ev.Meta))
			}
		}
	}
	ctx, span := o.tracer.Start(parent, "sync "+ev.Type, opts...)
	o.inFlight.Add(ctx, 1)
	return context.WithValue(ctx, eventSpanKey{}, span)
}

// EndEvent implements [synclayer.EventObserver]: it ends the event's span,
// with an error status when any route failed.
func (o *Observer) EndEvent(ctx context.Context, rep synclayer.Report) {
	o.inFlight.Add(ctx, -1)
	span, ok := ctx.Value(eventSpanKey{}).(trace.Span)
	if !ok {
		return
	}
	if err := rep.Err(); err != nil {
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}

// ObserveAttempt implements [synclayer.Observer]: it records the attempt's
// duration and retries, and a span of kind client, named "push " + the
// connector, as a child of the event's span, with the attempt's real start
// and end times.
func (o *Observer) ObserveAttempt(ctx context.Context, a synclayer.Attempt) {
	outcome := "ok"
	if a.Err != nil {
		outcome = "error"
	}
	o.duration.Record(ctx, a.Duration.Seconds(), o.attrs(a.Connector, AttrOutcome, outcome))
	if a.Attempt > 1 {
		o.retries.Add(ctx, 1, o.attrs(a.Connector, "", ""))
	}
	attrs := []attribute.KeyValue{
		AttrConnector.String(a.Connector),
		AttrEventID.String(a.Event.ID),
		AttrEventType.String(a.Event.Type),
		AttrKey.String(a.Key),
		AttrAttempt.Int(a.Attempt),
	}
	if a.Wait > 0 {
		attrs = append(attrs, AttrRetryIn.Int64(a.Wait.Milliseconds()))
	}
	_, span := o.tracer.Start(ctx, "push "+a.Connector,
		trace.WithSpanKind(trace.SpanKindClient),
		trace.WithTimestamp(a.Start),
		trace.WithAttributes(attrs...))
	if a.Err != nil {
		span.RecordError(a.Err, trace.WithTimestamp(a.Start.Add(a.Duration)))
		span.SetStatus(codes.Error, a.Err.Error())
	}
	span.End(trace.WithTimestamp(a.Start.Add(a.Duration)))
}

// ObserveResult implements [synclayer.Observer]: it counts the route's
// outcome and its dead letter, and adds a "result" span event to the event's
// span.
func (o *Observer) ObserveResult(ctx context.Context, ev synclayer.Event, r synclayer.Result) {
	status := r.Status.String()
	o.deliveries.Add(ctx, 1, o.attrs(r.Connector, AttrStatus, status))
	if r.Status == synclayer.StatusFailed && synclayer.IsPermanent(r.Err) {
		o.dead.Add(ctx, 1, o.attrs(r.Connector, "", ""))
	}
	span := trace.SpanFromContext(ctx)
	if !span.IsRecording() {
		return
	}
	attrs := []attribute.KeyValue{AttrConnector.String(r.Connector), AttrStatus.String(status), AttrKey.String(r.Key), AttrAttempt.Int(r.Attempts)}
	if r.Err != nil {
		attrs = append(attrs, attribute.String("error", r.Err.Error()))
	}
	span.AddEvent("result", trace.WithAttributes(attrs...))
}

// ObserveBreaker implements [synclayer.BreakerObserver]: it sets the
// breaker state gauge and counts the transition.
func (o *Observer) ObserveBreaker(ctx context.Context, connector string, from, to synclayer.BreakerState) {
	conn := AttrConnector.String(connector)
	o.breakerState.Record(ctx, int64(to), metric.WithAttributes(conn))
	o.breakerMoves.Add(ctx, 1, metric.WithAttributes(conn, AttrBreaker.String(to.String())))
	if span := trace.SpanFromContext(ctx); span.IsRecording() {
		span.AddEvent("breaker", trace.WithAttributes(conn,
			attribute.String("from", from.String()), attribute.String("to", to.String())))
	}
}

// WatchDispatcher reports, at each collection, the in-flight attempts and
// pending routes of every connector of d (from [synclayer.Dispatcher.Status])
// as the gauges synclayer.connector.in_flight and synclayer.connector.pending.
// Call the returned function to stop.
func (o *Observer) WatchDispatcher(d *synclayer.Dispatcher) (stop func() error, err error) {
	inFlight, err := o.meter.Int64ObservableGauge(MetricConnInFlight, metric.WithUnit("{attempt}"),
		metric.WithDescription("Attempts under way now, by connector."))
	if err != nil {
		return nil, fmt.Errorf("otelsync: create instrument: %w", err)
	}
	pending, err := o.meter.Int64ObservableCounter(MetricConnPending, metric.WithUnit("{delivery}"),
		metric.WithDescription("Routes queued as pending (connector paused or breaker open) since start, by connector."))
	if err != nil {
		return nil, fmt.Errorf("otelsync: create instrument: %w", err)
	}
	reg, err := o.meter.RegisterCallback(func(_ context.Context, obs metric.Observer) error {
		for _, s := range d.Status() {
			set := metric.WithAttributes(AttrConnector.String(s.Name))
			obs.ObserveInt64(inFlight, s.InFlight, set)
			obs.ObserveInt64(pending, s.Pending, set)
		}
		return nil
	}, inFlight, pending)
	if err != nil {
		return nil, fmt.Errorf("otelsync: register callback: %w", err)
	}
	return reg.Unregister, nil
}
