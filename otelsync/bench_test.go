package otelsync_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/otelsync"
	"github.com/hmsplatform/synclayer/synclayertest"
)

// discard is a span exporter that drops the spans.
type discard struct{}

func (discard) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error { return nil }
func (discard) Shutdown(context.Context) error                             { return nil }

// benchDispatcher has one connector that succeeds at once, so the cost
// measured is the dispatcher's and the observer's.
func benchDispatcher(b *testing.B, obs synclayer.Observer) *synclayer.Dispatcher {
	reg := new(synclayer.Registry)
	if err := reg.Register("c", synclayer.ConnectorFunc(func(context.Context, synclayer.Record) error { return nil }),
		synclayer.Route("T", synclayer.MapperFunc(func(_ context.Context, ev synclayer.Event) (synclayer.Record, error) {
			return synclayer.Record{Key: ev.Subject}, nil
		}))); err != nil {
		b.Fatal(err)
	}
	return synclayertest.NewDispatcher(b, reg, synclayer.WithObserver(obs), synclayer.WithDeliveryLog(synclayer.NoDeliveryLog))
}

// BenchmarkObserverOverhead dispatches alternately through a dispatcher
// without observer (the baseline) and one with the otelsync Observer on the
// SDK as a service runs it (every span sampled, batched to an exporter that
// drops them; metrics on a manual reader), and reports both costs and their ratio.
func BenchmarkObserverOverhead(b *testing.B) {
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(discard{}))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	defer tp.Shutdown(context.Background())
	defer mp.Shutdown(context.Background())
	obs, err := otelsync.New(otelsync.WithTracerProvider(tp), otelsync.WithMeterProvider(mp))
	if err != nil {
		b.Fatal(err)
	}
	base, traced := benchDispatcher(b, nil), benchDispatcher(b, obs)
	ctx := context.Background()
	var tBase, tObs time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		ev := synclayer.Event{ID: fmt.Sprint("e", i), Type: "T", Subject: fmt.Sprint("k", i%64)}
		start := time.Now()
		if _, err := base.Dispatch(ctx, ev); err != nil {
			b.Fatal(err)
		}
		mid := time.Now()
		if _, err := traced.Dispatch(ctx, ev); err != nil {
			b.Fatal(err)
		}
		tObs += time.Since(mid)
		tBase += mid.Sub(start)
	}
	n := float64(b.N)
	b.ReportMetric(float64(tBase.Nanoseconds())/n, "baseline-ns/dispatch")
	b.ReportMetric(float64(tObs.Nanoseconds())/n, "otel-ns/dispatch")
	b.ReportMetric(float64(tObs)/float64(tBase), "ratio")
}
