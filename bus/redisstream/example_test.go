package redisstream_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/bus/redisstream"
)

// This example needs Redis on SYNCLAYER_REDIS_ADDR (default
// 127.0.0.1:6379). Its handler fails for good, so the bus moves the entry
// to the dead-letter stream at once, where it stays, after the bus is
// closed too, for an operator to read back.
func Example() {
	addr := os.Getenv("SYNCLAYER_REDIS_ADDR")
	if addr == "" {
		addr = "127.0.0.1:6379"
	}
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	defer rdb.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	prefix := fmt.Sprintf("example-%d", time.Now().UnixNano())
	bus, err := redisstream.NewBus(rdb, prefix, redisstream.WithGroup("calendar-sync"),
		redisstream.WithMaxLen(10_000)) // each event type's stream keeps about the last 10,000 entries
	if err != nil {
		fmt.Println(err)
		return
	}
	defer rdb.Del(context.Background(), bus.Stream("WorkflowDeployed"), bus.DeadLetterStream())

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
		// Permanent: no retry can help, so there is none.
		return synclayer.Permanent(errors.New("workflow has no owner"))
	})
	fmt.Println("subscribe returned:", err)
	fmt.Println("closed:", bus.Close(ctx))

	dead, err := bus.DeadLetters(ctx, 10)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, dl := range dead {
		fmt.Printf("dead letter: %s after %d delivery: %s\n", dl.Event.ID, dl.Deliveries, dl.Reason)
	}
	// With the service running, it prints the following. It has no Output
	// line, so that go test does not run it where the service is missing;
	// TestExampleFlow checks the same steps.
	//
	//	published: <nil>
	//	received: evt-1 WorkflowDeployed {"id":"WF-123"}
	//	subscribe returned: <nil>
	//	closed: <nil>
	//	dead letter: evt-1 after 1 delivery: workflow has no owner
}
