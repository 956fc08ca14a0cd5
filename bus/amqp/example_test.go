package amqp_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"time"

	amqpgo "github.com/rabbitmq/amqp091-go"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/bus/amqp"
)

// This example needs RabbitMQ on SYNCLAYER_AMQP_URL (default
// amqp://guest:guest@127.0.0.1:5672/). It declares the group's queue
// before it publishes, and shows a handler's failure retried through the
// broker: the message waits out the redelivery delay in a retry queue,
// whose TTL sends it back to the group's queue.
func Example() {
	url := os.Getenv("SYNCLAYER_AMQP_URL")
	if url == "" {
		url = "amqp://guest:guest@127.0.0.1:5672/"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	exchange := fmt.Sprintf("example-%d", time.Now().UnixNano())
	bus, err := amqp.NewBus(ctx, url, exchange, amqp.WithGroup("calendar-sync"),
		amqp.WithRedeliveryDelay(100*time.Millisecond))
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

	var deliveries atomic.Int32
	subCtx, stop := context.WithCancel(ctx)
	err = bus.Subscribe(subCtx, []string{"WorkflowDeployed"}, func(_ context.Context, ev synclayer.Event) error {
		n := deliveries.Add(1)
		if n == 1 {
			fmt.Println("delivery 1 of", ev.ID, "failed: partner busy")
			return errors.New("partner busy") // back in 100ms, through bus.RetryQueues()[0]
		}
		fmt.Println("delivery", n, "of", ev.ID, ev.Type, string(ev.Data), "synced")
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
	//	delivery 1 of evt-1 failed: partner busy
	//	delivery 2 of evt-1 WorkflowDeployed {"id":"WF-123"} synced
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
	for _, q := range append([]string{bus.DeadLetterQueue()}, bus.RetryQueues()...) {
		ch.QueueDelete(q, false, false, false)
	}
	ch.ExchangeDelete(exchange, false, false)
}
