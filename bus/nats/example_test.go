package nats_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/bus/nats"
)

// This example needs NATS with JetStream on SYNCLAYER_NATS_URL (default
// nats://127.0.0.1:4222). It publishes a batch, as the outbox's relay
// does, in which an event is sent a second time (as by a relay that
// stopped before it marked the event sent): JetStream drops the copy,
// since every message carries its event's ID as its message id.
func Example() {
	url := os.Getenv("SYNCLAYER_NATS_URL")
	if url == "" {
		url = "nats://127.0.0.1:4222"
	}
	nc, err := natsgo.Connect(url)
	if err != nil {
		fmt.Println("NATS unavailable:", err)
		return
	}
	defer nc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	stream := fmt.Sprintf("example-%d", time.Now().UnixNano())
	bus, err := nats.NewBus(ctx, nc, stream, nats.WithGroup("calendar-sync"),
		nats.WithConcurrency(1)) // one handler call at a time: events come in the stream's order
	if err != nil {
		fmt.Println(err)
		return
	}
	defer func() {
		js, _ := jetstream.New(nc)
		_ = js.DeleteStream(context.Background(), stream)
	}()

	first := synclayer.Event{ID: "evt-1", Type: "WorkflowDeployed", Data: json.RawMessage(`{"id":"WF-123"}`)}
	second := synclayer.Event{ID: "evt-2", Type: "WorkflowDeployed", Data: json.RawMessage(`{"id":"WF-124"}`)}
	fmt.Println("published:", bus.PublishBatch(ctx, []synclayer.Event{first, first, second}))

	subCtx, stop := context.WithCancel(ctx)
	err = bus.Subscribe(subCtx, []string{"WorkflowDeployed"}, func(_ context.Context, ev synclayer.Event) error {
		fmt.Println("received:", ev.ID, ev.Type, string(ev.Data))
		if ev.ID == second.ID {
			stop()
		}
		return nil
	})
	fmt.Println("subscribe returned:", err)
	fmt.Println("closed:", bus.Close(ctx))
	// With the service running, it prints the following. It has no Output
	// line, so that go test does not run it where the service is missing;
	// TestExampleFlow checks the same steps.
	//
	//	published: <nil>
	//	received: evt-1 WorkflowDeployed {"id":"WF-123"}
	//	received: evt-2 WorkflowDeployed {"id":"WF-124"}
	//	subscribe returned: <nil>
	//	closed: <nil>
}
