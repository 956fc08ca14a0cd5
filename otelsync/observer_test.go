package otelsync_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/goleak"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/otelsync"
	"github.com/hmsplatform/synclayer/synclayertest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// rig is a dispatcher with two connectors, "ok" (always synced) and
// "flaky" (fails its first call with a temporary error, then succeeds;
// a payload key "bad" fails permanently), observed by an otelsync.Observer
// that exports to memory.
type rig struct {
	d      *synclayer.Dispatcher
	obs    *otelsync.Observer
	spans  *tracetest.InMemoryExporter
	reader *sdkmetric.ManualReader
	tp     *sdktrace.TracerProvider
}

func newRig(t *testing.T, opts ...synclayer.ConnectorOption) *rig {
	t.Helper()
	r := &rig{spans: tracetest.NewInMemoryExporter(), reader: sdkmetric.NewManualReader()}
	r.tp = sdktrace.NewTracerProvider(sdktrace.WithSyncer(r.spans))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(r.reader))
	t.Cleanup(func() {
		_ = r.tp.Shutdown(context.Background())
		_ = mp.Shutdown(context.Background())
	})
	obs, err := otelsync.New(otelsync.WithTracerProvider(r.tp), otelsync.WithMeterProvider(mp))
	if err != nil {
		t.Fatal(err)
	}
	r.obs = obs
	byKey := synclayer.MapperFunc(func(_ context.Context, ev synclayer.Event) (synclayer.Record, error) {
		return synclayer.Record{Key: ev.Subject}, nil
	})
	var flakyCalls atomic.Int64
	reg := new(synclayer.Registry)
	fast := synclayer.WithRetry(synclayer.RetryPolicy{MaxAttempts: 3, InitialInterval: time.Millisecond,
		MaxInterval: 2 * time.Millisecond, MaxElapsed: 5 * time.Second, Multiplier: 2})
	must(t, reg.Register("ok", synclayer.ConnectorFunc(func(context.Context, synclayer.Record) error { return nil }),
		synclayer.Route("WorkflowDeployed", byKey), fast))
	must(t, reg.Register("flaky", synclayer.ConnectorFunc(func(_ context.Context, rec synclayer.Record) error {
		if rec.Key == "bad" {
			return synclayer.Permanent(errors.New("partner refused the record"))
		}
		if flakyCalls.Add(1) == 1 {
			return errors.New("partner busy")
		}
		return nil
	}), append([]synclayer.ConnectorOption{synclayer.Route("WorkflowDeployed", byKey), fast}, opts...)...))
	r.d = synclayertest.NewDispatcher(t, reg, synclayer.WithObserver(obs))
	return r
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// publish starts and ends a span of a publisher, named name, and returns
// the Event.Meta that carries it across a bus, and the span's context.
func (r *rig) publish(name string) (map[string]string, trace.SpanContext) {
	ctx, span := r.tp.Tracer("publisher").Start(context.Background(), name)
	meta := map[string]string{}
	propagation.TraceContext{}.Inject(ctx, propagation.MapCarrier(meta))
	span.End()
	return meta, span.SpanContext()
}

func attrOf(attrs []attribute.KeyValue, k attribute.Key) (attribute.Value, bool) {
	for _, a := range attrs {
		if a.Key == k {
			return a.Value, true
		}
	}
	return attribute.Value{}, false
}

func TestTraceJoinsPublisher(t *testing.T) {
	r := newRig(t)
	// The publisher's span, carried across the bus in Event.Meta.
	meta, want := r.publish("publish WorkflowDeployed")
	if meta["traceparent"] == "" {
		t.Fatal("no traceparent injected")
	}
	r.spans.Reset()

	ev := synclayer.Event{ID: "ev-1", Type: "WorkflowDeployed", Subject: "WF-1", Source: "hms/ml", Meta: meta}
	before := time.Now()
	if _, err := r.d.Dispatch(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	after := time.Now()

	spans := r.spans.GetSpans()
	var event tracetest.SpanStub
	var pushes []tracetest.SpanStub
	for _, s := range spans {
		switch s.Name {
		case "sync WorkflowDeployed":
			event = s
		case "push ok", "push flaky":
			pushes = append(pushes, s)
		default:
			t.Errorf("unexpected span %q", s.Name)
		}
	}
	if !event.SpanContext.IsValid() {
		t.Fatalf("no event span among %d spans", len(spans))
	}
	if event.Parent.TraceID() != want.TraceID() || event.Parent.SpanID() != want.SpanID() || !event.Parent.IsRemote() {
		t.Errorf("event span parent = %v, want the publisher's remote span %v", event.Parent, want)
	}
	if event.SpanKind != trace.SpanKindConsumer {
		t.Errorf("event span kind = %v, want consumer", event.SpanKind)
	}
	for k, v := range map[attribute.Key]string{otelsync.AttrEventID: "ev-1", otelsync.AttrEventType: "WorkflowDeployed", otelsync.AttrEventSource: "hms/ml"} {
		if got, _ := attrOf(event.Attributes, k); got.AsString() != v {
			t.Errorf("event span %s = %q, want %q", k, got.AsString(), v)
		}
	}
	if event.Status.Code == codes.Error {
		t.Errorf("event span status = %v, want unset", event.Status)
	}
	results := 0
	for _, e := range event.Events {
		if e.Name == "result" {
			results++
		}
	}
	if results != 2 {
		t.Errorf("event span has %d result events, want 2", results)
	}

	// ok: 1 attempt; flaky: a failed attempt then a success.
	if len(pushes) != 3 {
		t.Fatalf("got %d attempt spans, want 3", len(pushes))
	}
	failed := 0
	for _, p := range pushes {
		if p.Parent.SpanID() != event.SpanContext.SpanID() || p.SpanContext.TraceID() != want.TraceID() {
			t.Errorf("%s: parent %v, want the event span %v", p.Name, p.Parent.SpanID(), event.SpanContext.SpanID())
		}
		if p.SpanKind != trace.SpanKindClient {
			t.Errorf("%s: kind %v, want client", p.Name, p.SpanKind)
		}
		if p.StartTime.Before(before) || p.EndTime.After(after) || p.EndTime.Before(p.StartTime) {
			t.Errorf("%s: times %v..%v outside the dispatch %v..%v", p.Name, p.StartTime, p.EndTime, before, after)
		}
		if got, _ := attrOf(p.Attributes, otelsync.AttrKey); got.AsString() != "WF-1" {
			t.Errorf("%s: key = %q", p.Name, got.AsString())
		}
		if p.Status.Code == codes.Error {
			failed++
			if p.Status.Description != "partner busy" {
				t.Errorf("%s: status description %q", p.Name, p.Status.Description)
			}
			if n, _ := attrOf(p.Attributes, otelsync.AttrAttempt); n.AsInt64() != 1 {
				t.Errorf("failed attempt number = %d, want 1", n.AsInt64())
			}
			if _, ok := attrOf(p.Attributes, otelsync.AttrRetryIn); !ok {
				t.Errorf("failed attempt has no %s", otelsync.AttrRetryIn)
			}
		}
	}
	if failed != 1 {
		t.Errorf("%d failed attempt spans, want 1", failed)
	}
}

func TestTraceLocalParentLinksPublisher(t *testing.T) {
	r := newRig(t)
	meta, pubSpan := r.publish("publish")
	busCtx, busSpan := r.tp.Tracer("bus").Start(context.Background(), "receive")
	r.spans.Reset()

	ev := synclayer.Event{ID: "ev-2", Type: "WorkflowDeployed", Subject: "WF-2", Meta: meta}
	if _, err := r.d.Dispatch(busCtx, ev); err != nil {
		t.Fatal(err)
	}
	busSpan.End()
	for _, s := range r.spans.GetSpans() {
		if s.Name != "sync WorkflowDeployed" {
			continue
		}
		if s.Parent.SpanID() != busSpan.SpanContext().SpanID() {
			t.Errorf("event span parent = %v, want the bus span", s.Parent.SpanID())
		}
		if len(s.Links) != 1 || s.Links[0].SpanContext.SpanID() != pubSpan.SpanID() {
			t.Errorf("event span links = %v, want one to the publisher span", s.Links)
		}
		return
	}
	t.Fatal("no event span")
}

func TestTraceWithoutTraceparentIsRoot(t *testing.T) {
	r := newRig(t)
	ev := synclayer.Event{ID: "ev-3", Type: "WorkflowDeployed", Subject: "bad", Meta: map[string]string{"traceparent": "garbage"}}
	if _, err := r.d.Dispatch(context.Background(), ev); err == nil {
		t.Fatal("want the permanent failure of flaky")
	}
	for _, s := range r.spans.GetSpans() {
		if s.Name == "sync WorkflowDeployed" {
			if s.Parent.IsValid() {
				t.Errorf("event span has parent %v, want a root span", s.Parent)
			}
			if s.Status.Code != codes.Error {
				t.Errorf("event span status = %v, want error", s.Status)
			}
			return
		}
	}
	t.Fatal("no event span")
}

// metrics collects and indexes the reader's metrics by name.
func metrics(t *testing.T, r *sdkmetric.ManualReader) map[string]metricdata.Metrics {
	t.Helper()
	var rm metricdata.ResourceMetrics
	must(t, r.Collect(context.Background(), &rm))
	out := map[string]metricdata.Metrics{}
	for _, sm := range rm.ScopeMetrics {
		if sm.Scope.Name != otelsync.ScopeName {
			t.Errorf("scope %q", sm.Scope.Name)
		}
		for _, m := range sm.Metrics {
			out[m.Name] = m
		}
	}
	return out
}

// sumOf returns the int64 sum (or gauge) point whose attributes equal want.
func sumOf(t *testing.T, m metricdata.Metrics, want ...attribute.KeyValue) int64 {
	t.Helper()
	set := attribute.NewSet(want...)
	var pts []metricdata.DataPoint[int64]
	switch d := m.Data.(type) {
	case metricdata.Sum[int64]:
		pts = d.DataPoints
	case metricdata.Gauge[int64]:
		pts = d.DataPoints
	default:
		t.Fatalf("%s: data %T", m.Name, m.Data)
	}
	for _, p := range pts {
		if p.Attributes.Equals(&set) {
			return p.Value
		}
	}
	t.Errorf("%s: no point with %v", m.Name, want)
	return 0
}

func TestMetrics(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	_, _ = r.d.Dispatch(ctx, synclayer.Event{ID: "m-1", Type: "WorkflowDeployed", Subject: "WF-1"}) // ok synced; flaky fails once, synced
	_, _ = r.d.Dispatch(ctx, synclayer.Event{ID: "m-1", Type: "WorkflowDeployed", Subject: "WF-1"}) // both duplicate
	_, _ = r.d.Dispatch(ctx, synclayer.Event{ID: "m-2", Type: "WorkflowDeployed", Subject: "bad"})  // ok synced; flaky dead
	got := metrics(t, r.reader)

	conn := otelsync.AttrConnector.String
	status := otelsync.AttrStatus.String
	dl := got[otelsync.MetricDeliveries]
	for _, c := range []struct {
		conn, status string
		want         int64
	}{
		{"ok", "synced", 2}, {"ok", "duplicate", 1}, {"flaky", "synced", 1}, {"flaky", "duplicate", 1}, {"flaky", "failed", 1},
	} {
		if n := sumOf(t, dl, conn(c.conn), status(c.status)); n != c.want {
			t.Errorf("deliveries{%s,%s} = %d, want %d", c.conn, c.status, n, c.want)
		}
	}
	if n := sumOf(t, got[otelsync.MetricDeadLetters], conn("flaky")); n != 1 {
		t.Errorf("dead letters = %d, want 1", n)
	}
	if n := sumOf(t, got[otelsync.MetricRetries], conn("flaky")); n != 1 {
		t.Errorf("retries = %d, want 1", n)
	}
	if n := sumOf(t, got[otelsync.MetricInFlight]); n != 0 {
		t.Errorf("in flight after dispatch = %d, want 0", n)
	}
	h, ok := got[otelsync.MetricAttemptDuration].Data.(metricdata.Histogram[float64])
	if !ok {
		t.Fatalf("attempt duration data %T", got[otelsync.MetricAttemptDuration].Data)
	}
	counts := map[string]uint64{}
	for _, p := range h.DataPoints {
		c, _ := p.Attributes.Value(otelsync.AttrConnector)
		o, _ := p.Attributes.Value(otelsync.AttrOutcome)
		counts[c.AsString()+"/"+o.AsString()] = p.Count
	}
	if want := map[string]uint64{"ok/ok": 2, "flaky/ok": 1, "flaky/error": 2}; !equalCounts(counts, want) {
		t.Errorf("attempt duration counts = %v, want %v", counts, want)
	}
	if u := got[otelsync.MetricAttemptDuration].Unit; u != "s" {
		t.Errorf("attempt duration unit %q", u)
	}
}

func equalCounts(a, b map[string]uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestBreakerAndDispatcherGauges(t *testing.T) {
	r := newRig(t, synclayer.WithBreaker(synclayer.BreakerPolicy{MinRequests: 1, FailureRate: 1, OpenFor: time.Hour}))
	stop, err := r.obs.WatchDispatcher(r.d)
	must(t, err)
	t.Cleanup(func() { _ = stop() })
	ctx := context.Background()
	// flaky's permanent failure opens its breaker; the next event queues as pending.
	_, _ = r.d.Dispatch(ctx, synclayer.Event{ID: "b-1", Type: "WorkflowDeployed", Subject: "bad"})
	rep, _ := r.d.Dispatch(ctx, synclayer.Event{ID: "b-2", Type: "WorkflowDeployed", Subject: "WF-9"})
	if rep.Results[1].Status != synclayer.StatusPending {
		t.Fatalf("flaky after the breaker opened: %v, want pending", rep.Results[1].Status)
	}
	got := metrics(t, r.reader)
	conn := otelsync.AttrConnector.String
	if n := sumOf(t, got[otelsync.MetricBreakerState], conn("flaky")); n != int64(synclayer.BreakerOpen) {
		t.Errorf("breaker state = %d, want %d (open)", n, synclayer.BreakerOpen)
	}
	if n := sumOf(t, got[otelsync.MetricBreakerChanges], conn("flaky"), otelsync.AttrBreaker.String("open")); n != 1 {
		t.Errorf("breaker transitions to open = %d, want 1", n)
	}
	if n := sumOf(t, got[otelsync.MetricConnPending], conn("flaky")); n != 1 {
		t.Errorf("connector pending = %d, want 1", n)
	}
	if n := sumOf(t, got[otelsync.MetricConnInFlight], conn("ok")); n != 0 {
		t.Errorf("connector in flight = %d, want 0", n)
	}
	if n := sumOf(t, got[otelsync.MetricDeliveries], conn("flaky"), otelsync.AttrStatus.String("pending")); n != 1 {
		t.Errorf("pending deliveries = %d, want 1", n)
	}
}
