package sqlstore_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hmsplatform/synclayer/idempotency"
	"github.com/hmsplatform/synclayer/idempotency/sqlstore"
)

// TestHotKeysNoDeadlock: on PostgreSQL, concurrent batches of claims,
// renews, releases and completes on a few hot keys lock their rows in one
// order (the primary key's), so none of them deadlocks against another.
// 96 workers cycle over 8 keys: claim, and when acquired, renew, then
// complete or release. Every call succeeds, every renew finds its lease,
// and the database reports no error that the store would retry (a
// deadlock, 40P01, is one).
func TestHotKeysNoDeadlock(t *testing.T) {
	for _, b := range backends {
		if b.name != "postgres" {
			continue
		}
		s := batchStore(t, b, "sqlhot")
		var retried atomic.Int64
		var firstRetried sync.Once
		sqlstore.SetRetryableHook(s, func(err error) {
			retried.Add(1)
			firstRetried.Do(func() { t.Logf("first retryable error: %v", err) })
		})
		const workers, keys, rounds = 96, 8, 12
		ctx := context.Background()
		var acquired atomic.Int64
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				for r := range rounds {
					c := idempotency.Claim{Connector: "conn", Key: fmt.Sprint("key-", (w+r)%keys), EventID: fmt.Sprintf("e-%d-%d", w, r),
						LeaseTTL: time.Minute, Retention: time.Hour}
					res, err := s.Claim(ctx, c)
					if err != nil {
						t.Errorf("claim: %v", err)
						return
					}
					if res.Status != idempotency.ClaimAcquired {
						continue
					}
					acquired.Add(1)
					if ok, err := s.Renew(ctx, c, res.Token); err != nil || !ok {
						t.Errorf("renew of a held lease: %v, %v; want true", ok, err)
						return
					}
					if r%2 == 0 {
						err = s.Complete(ctx, c, res.Token)
					} else {
						err = s.Release(ctx, c, res.Token)
					}
					if err != nil {
						t.Errorf("complete or release: %v", err)
						return
					}
				}
			})
		}
		wg.Wait()
		if n := retried.Load(); n != 0 {
			t.Errorf("%d statements failed with an error the store retries (deadlocks); want none", n)
		}
		if acquired.Load() == 0 {
			t.Error("no claim was acquired")
		}
	}
}
