package redisstore_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/idempotency/redisstore"
)

// Two processes share one Redis: while the first holds the lease on a
// record key the second is told to wait, and once the first has completed
// the event the second sees it done.
func Example() {
	addr := os.Getenv("SYNCLAYER_REDIS_ADDR")
	if addr == "" {
		addr = "127.0.0.1:6379"
	}
	ctx := context.Background()
	prefix := fmt.Sprintf("example:%d:", time.Now().UnixNano())
	open := func() (*redisstore.Store, *redis.Client) {
		client := redis.NewClient(&redis.Options{Addr: addr})
		store, err := redisstore.New(client, redisstore.WithPrefix(prefix))
		if err != nil {
			panic(err)
		}
		return store, client
	}
	first, c1 := open()
	defer c1.Close()
	second, c2 := open()
	defer c2.Close()

	c := synclayer.Claim{
		Connector: "calendar", Key: "workflow-42", EventID: "evt-1", Version: 3,
		LeaseTTL: time.Minute, Retention: time.Hour,
	}
	r1, err := first.Claim(ctx, c)
	if err != nil {
		fmt.Println("Redis unavailable:", err != nil)
		return
	}
	fmt.Println("first process:", r1.Status)
	r2, _ := second.Claim(ctx, c)
	fmt.Println("second process while held:", r2.Status)
	_ = first.Complete(ctx, c, r1.Token)
	r2, _ = second.Claim(ctx, c)
	fmt.Println("second process after Complete:", r2.Status)

	// Remove the example's keys.
	keys, _ := c1.Keys(ctx, prefix+"*").Result()
	if len(keys) > 0 {
		c1.Del(ctx, keys...)
	}

	// Output:
	// first process: acquired
	// second process while held: busy
	// second process after Complete: done
}
