package amqp_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	amqpgo "github.com/rabbitmq/amqp091-go"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/bus/amqp"
)

// This example needs RabbitMQ on SYNCLAYER_AMQP_URL (default
// amqp://guest:guest@127.0.0.1:5672/).
func Example() {
	url := os.Getenv("SYNCLAYER_AMQP_URL")
	if url == "" {
		url = "amqp://guest:guest@127.0.0.1:5672/"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	exchange := fmt.Sprintf("example-%d", time.Now().UnixNano())
	bus, err := amqp.NewBus(ctx, url, exchange, amqp.WithGroup("calendar-sync"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer bus.Close(context.Background())
	defer removeTopology(url, bus, exchange)

	// Declare the group's queue first: AMQP drops events no queue takes.
	fmt.Println("declared:", bus.Declare(ctx, []string{"WorkflowDeployed"}))
	err = bus.Publish(ctx, synclayer.Event{
		ID:   "evt-1",
		Type: "WorkflowDeployed",
		Data: json.RawMessage(`{"id":"WF-123"}`),
	})
	fmt.Println("published:", err)

	subCtx, stop := context.WithCancel(ctx)
	err = bus.Subscribe(subCtx, []string{"WorkflowDeployed"}, func(_ context.Context, ev synclayer.Event) error {
		fmt.Println("received:", ev.ID, ev.Type, string(ev.Data))
		stop()
		return nil
	})
	fmt.Println("subscribe returned:", err)
	// With the service running, it prints the following. It has no Output
	// line, so that go test does not run it where the service is missing;
	// TestExampleFlow checks the same steps.
	//
	//	declared: <nil>
	//	published: <nil>
	//	received: evt-1 WorkflowDeployed {"id":"WF-123"}
	//	subscribe returned: <nil>
}

func removeTopology(url string, bus *amqp.Bus, exchange string) {
	conn, err := amqpgo.Dial(url)
	if err != nil {
		return
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		return
	}
	defer ch.Close()
	ch.QueueDelete(bus.Queue(), false, false, false)
	ch.QueueDelete(bus.DeadLetterQueue(), false, false, false)
	ch.ExchangeDelete(exchange, false, false)
}
