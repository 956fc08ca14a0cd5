package redisstream_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/bus/redisstream"
)

// This example needs Redis on SYNCLAYER_REDIS_ADDR (default
// 127.0.0.1:6379).
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
	bus, err := redisstream.NewBus(rdb, prefix, redisstream.WithGroup("calendar-sync"))
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
	//	subscribe returned: <nil>
	//	closed: <nil>
}
