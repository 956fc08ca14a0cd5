package otelsync_test

import (
	"context"
	"fmt"
	"log"

	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/otelsync"
)

// Trace an event from its publisher through the dispatcher to the partner.
func Example() {
	spans := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))
	defer tp.Shutdown(context.Background())

	obs, err := otelsync.New(otelsync.WithTracerProvider(tp))
	if err != nil {
		panic(err)
	}
	reg := new(synclayer.Registry)
	err = reg.Register("calendar",
		synclayer.ConnectorFunc(func(context.Context, synclayer.Record) error { return nil }),
		synclayer.Route("WorkflowDeployed", synclayer.MapperFunc(func(_ context.Context, ev synclayer.Event) (synclayer.Record, error) {
			return synclayer.Record{Key: ev.Subject}, nil
		})))
	if err != nil {
		panic(err)
	}
	d, err := synclayer.NewDispatcher(reg, synclayer.WithObserver(obs))
	if err != nil {
		log.Fatal(err)
	}

	// The publisher sends its trace context in Event.Meta.
	ctx, publish := tp.Tracer("publisher").Start(context.Background(), "publish WorkflowDeployed")
	meta := map[string]string{}
	propagation.TraceContext{}.Inject(ctx, propagation.MapCarrier(meta))
	publish.End()

	ev := synclayer.Event{ID: "evt-1", Type: "WorkflowDeployed", Subject: "WF-1", Meta: meta}
	if _, err := d.Dispatch(context.Background(), ev); err != nil {
		panic(err)
	}
	names := map[string]string{}
	for _, s := range spans.GetSpans() {
		names[s.SpanContext.SpanID().String()] = s.Name
	}
	for _, s := range spans.GetSpans() {
		fmt.Printf("%s (parent: %s)\n", s.Name, names[s.Parent.SpanID().String()])
	}
	// Output:
	// publish WorkflowDeployed (parent: )
	// push calendar (parent: sync WorkflowDeployed)
	// sync WorkflowDeployed (parent: publish WorkflowDeployed)
}
