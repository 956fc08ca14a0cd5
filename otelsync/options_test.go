package otelsync_test

import (
	"context"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/otelsync"
)

// A nil option value means the default: a nil propagator still reads the
// W3C traceparent, and a nil option is skipped.
func TestNilOptionsMeanDefaults(t *testing.T) {
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	obs, err := otelsync.New(otelsync.WithTracerProvider(tp), otelsync.WithMeterProvider(nil), otelsync.WithPropagator(nil), nil)
	if err != nil {
		t.Fatal(err)
	}
	const trace = "4bf92f3577b34da6a3ce929d0e0e4736"
	ctx := obs.StartEvent(context.Background(), synclayer.Event{ID: "e", Type: "T",
		Meta: map[string]string{"traceparent": "00-" + trace + "-00f067aa0ba902b7-01"}})
	obs.EndEvent(ctx, synclayer.Report{})
	ended := spans.Ended()
	if len(ended) != 1 || ended[0].SpanContext().TraceID().String() != trace {
		t.Fatalf("spans %v: want one event span in the publisher's trace %s", ended, trace)
	}
}
