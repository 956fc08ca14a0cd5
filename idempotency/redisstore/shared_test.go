package redisstore_test

import (
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/idempotency/redisstore"
	"github.com/hmsplatform/synclayer/internal/testenv"
)

// Two processes share one Redis: while the first holds the lease on a
// record key the second is told to wait, and once the first has completed
// the event the second sees it done. (This was an Example; it needs a Redis
// server, and an Example cannot skip when there is none.)
func TestTwoProcessesShareOneRedis(t *testing.T) {
	addr := testenv.Redis.Need(t)
	ctx := t.Context()
	prefix := uniquePrefix(t)
	open := func() *redisstore.Store {
		client := redis.NewClient(&redis.Options{Addr: addr})
		t.Cleanup(func() { client.Close() })
		return openPrefixed(t, client, prefix)
	}
	first, second := open(), open()

	c := synclayer.Claim{
		Connector: "calendar", Key: "workflow-42", EventID: "evt-1", Version: 3,
		LeaseTTL: time.Minute, Retention: time.Hour,
	}
	r1, err := first.Claim(ctx, c)
	if err != nil || r1.Status != synclayer.ClaimAcquired {
		t.Fatalf("first process: %v, %v; want acquired", r1.Status, err)
	}
	if r2, err := second.Claim(ctx, c); err != nil || r2.Status != synclayer.ClaimBusy {
		t.Fatalf("second process while held: %v, %v; want busy", r2.Status, err)
	}
	if err := first.Complete(ctx, c, r1.Token); err != nil {
		t.Fatal(err)
	}
	if r2, err := second.Claim(ctx, c); err != nil || r2.Status != synclayer.ClaimDone {
		t.Fatalf("second process after Complete: %v, %v; want done", r2.Status, err)
	}
}
