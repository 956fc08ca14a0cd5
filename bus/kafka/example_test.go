package kafka_test

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/bus/kafka"
)

func Example() {
	// An in-process Kafka cluster stands in for real brokers.
	c, err := kfake.NewCluster(kfake.AllowAutoTopicCreation())
	if err != nil {
		panic(err)
	}
	defer c.Close()

	bus, err := kafka.NewBus(c.ListenAddrs(), "hms", kafka.WithGroup("calendar-sync"))
	if err != nil {
		panic(err)
	}
	defer bus.Close(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	err = bus.Publish(ctx, synclayer.Event{
		ID:      "evt-1",
		Type:    "WorkflowDeployed",
		Subject: "WF-123", // the record key: one workflow's events stay in order
		Data:    json.RawMessage(`{"id":"WF-123"}`),
	})
	fmt.Println("published:", err)

	subCtx, stop := context.WithCancel(ctx)
	err = bus.Subscribe(subCtx, []string{"WorkflowDeployed"}, func(_ context.Context, ev synclayer.Event) error {
		fmt.Println("received:", ev.ID, ev.Type, ev.Subject, string(ev.Data))
		stop()
		return nil
	})
	fmt.Println("subscribe returned:", err)
	// Output:
	// published: <nil>
	// received: evt-1 WorkflowDeployed WF-123 {"id":"WF-123"}
	// subscribe returned: <nil>
}
