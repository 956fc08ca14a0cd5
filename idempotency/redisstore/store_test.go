package redisstore_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/idempotency"
	"github.com/hmsplatform/synclayer/idempotency/redisstore"
	"github.com/hmsplatform/synclayer/internal/testenv"
	"github.com/hmsplatform/synclayer/synclayertest"
)

// newClient opens a client to the test Redis with hooks, closed at the
// end of the test (closing twice is harmless).
func newClient(t testing.TB, hooks ...redis.Hook) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: testenv.Redis.Need(t)})
	for _, h := range hooks {
		c.AddHook(h)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// removePrefix deletes every key under prefix at the end of the test,
// unless the test was skipped: then Redis may not be there, and nothing
// was written.
func removePrefix(t testing.TB, prefix string) {
	t.Cleanup(func() {
		if t.Skipped() {
			return
		}
		c := redis.NewClient(&redis.Options{Addr: testenv.Redis.Addr()})
		defer c.Close()
		ctx := context.Background()
		iter := c.Scan(ctx, 0, prefix+"*", 500).Iterator()
		var keys []string
		for iter.Next(ctx) {
			keys = append(keys, iter.Val())
		}
		if err := iter.Err(); err != nil {
			t.Errorf("scan %s*: %v", prefix, err)
		}
		if len(keys) > 0 {
			if err := c.Del(ctx, keys...).Err(); err != nil {
				t.Errorf("delete %s*: %v", prefix, err)
			}
		}
	})
}

// uniquePrefix is a key prefix no other test or run uses.
func uniquePrefix(tb testing.TB) string {
	name := strings.NewReplacer("{", "", "}", "").Replace(strings.ToLower(tb.Name()))
	return "synclayertest:" + name + ":" + strconv.FormatInt(time.Now().UnixNano(), 36) + ":"
}

// openPrefixed opens a store over client under prefix, whose keys are
// removed at the end of the test.
func openPrefixed(tb testing.TB, client redis.UniversalClient, prefix string) *redisstore.Store {
	tb.Helper()
	removePrefix(tb, prefix)
	s, err := redisstore.New(client, redisstore.WithPrefix(prefix))
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// breakable offers synclayertest.BreakableStore: breaking closes the client.
type breakable struct {
	*redisstore.Store
	c *redis.Client
}

func (b breakable) BreakConnection(t *testing.T) {
	if err := b.c.Close(); err != nil {
		t.Fatalf("close client: %v", err)
	}
}

func TestConformance(t *testing.T) {
	testenv.Redis.Need(t)
	synclayertest.TestStore(t, func(t *testing.T, ns string) synclayer.Store {
		c := newClient(t)
		return breakable{openPrefixed(t, c, "synclayertest:"+ns+":"), c}
	})
}

// Two processes share one Redis: while the first holds the lease on a
// record key the second is told to wait, and once the first has completed
// the event the second sees it done. (This was an Example; it needs a Redis
// server, and an Example cannot skip when there is none.)
func TestTwoProcessesShareOneRedis(t *testing.T) {
	ctx := t.Context()
	prefix := uniquePrefix(t)
	first, second := openPrefixed(t, newClient(t), prefix), openPrefixed(t, newClient(t), prefix)

	c := idempotency.Claim{
		Connector: "calendar", Key: "workflow-42", EventID: "evt-1", Version: 3,
		LeaseTTL: time.Minute, Retention: time.Hour,
	}
	r1, err := first.Claim(ctx, c)
	if err != nil || r1.Status != idempotency.ClaimAcquired {
		t.Fatalf("first process: %v, %v; want acquired", r1.Status, err)
	}
	if r2, err := second.Claim(ctx, c); err != nil || r2.Status != idempotency.ClaimBusy {
		t.Fatalf("second process while held: %v, %v; want busy", r2.Status, err)
	}
	if err := first.Complete(ctx, c, r1.Token); err != nil {
		t.Fatal(err)
	}
	if r2, err := second.Claim(ctx, c); err != nil || r2.Status != idempotency.ClaimDone {
		t.Fatalf("second process after Complete: %v, %v; want done", r2.Status, err)
	}
}
