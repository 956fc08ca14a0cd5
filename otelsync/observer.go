package otelsync

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/hmsplatform/synclayer"
)

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

// New returns an Observer. A nil option is skipped. It fails only when the
// meter provider refuses to create an instrument.
func New(opts ...Option) (*Observer, error) {
	c, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	o := &Observer{
		tracer: c.tp.Tracer(ScopeName),
		meter:  c.mp.Meter(ScopeName),
		prop:   c.prop,
	}
	var errs [7]error
	o.deliveries, errs[0] = o.meter.Int64Counter(MetricDeliveries, metric.WithUnit("{delivery}"),
		metric.WithDescription("Route outcomes, by connector and status (synced, duplicate, stale, pending, failed)."))
	o.duration, errs[1] = o.meter.Float64Histogram(MetricAttemptDuration, metric.WithUnit("s"),
		metric.WithDescription("Duration of each call of Connector.Sync, by connector and outcome (ok, error)."),
		metric.WithExplicitBucketBoundaries(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
	o.retries, errs[2] = o.meter.Int64Counter(MetricRetries, metric.WithUnit("{attempt}"),
		metric.WithDescription("Attempts after the first one of a route, by connector."))
	o.inFlight, errs[3] = o.meter.Int64UpDownCounter(MetricInFlight, metric.WithUnit("{event}"),
		metric.WithDescription("Events being dispatched now."))
	o.breakerState, errs[4] = o.meter.Int64Gauge(MetricBreakerState, metric.WithUnit("1"),
		metric.WithDescription("Circuit breaker state by connector: 0 closed, 1 open, 2 half-open."))
	o.breakerMoves, errs[5] = o.meter.Int64Counter(MetricBreakerChanges, metric.WithUnit("{transition}"),
		metric.WithDescription("Circuit breaker state changes, by connector and new state."))
	o.dead, errs[6] = o.meter.Int64Counter(MetricDeadLetters, metric.WithUnit("{delivery}"),
		metric.WithDescription("Routes that failed for good (dead letters), by connector."))
	if err := errors.Join(errs[:]...); err != nil {
		return nil, fmt.Errorf("otelsync: create instruments: %w", err)
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
