package synclayer_test

import (
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hmsplatform/synclayer"
)

// After the retention window the done-marker is gone, but the version check
// still holds: a redelivery, or an older version arriving late, is stale,
// not pushed again over the newer version. Claims on many other keys let
// every shard of the store sweep in between.
func TestMemoryStoreKeepsVersionsPastRetention(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := synclayer.NewMemoryStore()
		ctx := t.Context()
		c := synclayer.Claim{Connector: "p", Key: "K", EventID: "e5", Version: 5, LeaseTTL: time.Minute, Retention: time.Hour}
		cr, err := s.Claim(ctx, c)
		if err != nil || cr.Status != synclayer.ClaimAcquired {
			t.Fatalf("claim: %v, %v", cr, err)
		}
		must(t, s.Complete(ctx, c, cr.Token))

		time.Sleep(2 * time.Hour)
		for i := range 1000 {
			o := synclayer.Claim{Connector: "p", Key: fmt.Sprint("other-", i), EventID: fmt.Sprint("o", i), Version: 1, LeaseTTL: time.Minute, Retention: time.Hour}
			cr, err := s.Claim(ctx, o)
			if err != nil || cr.Status != synclayer.ClaimAcquired {
				t.Fatalf("claim of %s: %v, %v", o.Key, cr, err)
			}
			must(t, s.Release(ctx, o, cr.Token))
		}

		for _, late := range []synclayer.Claim{
			c, // the same event again, its done-marker expired
			{Connector: "p", Key: "K", EventID: "e3", Version: 3, LeaseTTL: time.Minute, Retention: time.Hour},
		} {
			cr, err := s.Claim(ctx, late)
			if err != nil || cr.Status != synclayer.ClaimStale || cr.Version != 5 {
				t.Errorf("%s (v%d) after the retention window: %v, %v; want stale behind v5", late.EventID, late.Version, cr, err)
			}
		}
	})
}

// MemoryMaxEntries(n) with n <= 0 keeps the default bound of a million
// entries: a thousand done-markers are all kept.
func TestMemoryMaxEntriesIgnoresNonPositive(t *testing.T) {
	for _, n := range []int{0, -1} {
		s := synclayer.NewMemoryStore(synclayer.MemoryMaxEntries(n))
		ctx := t.Context()
		claim := func(i int) synclayer.Claim {
			return synclayer.Claim{Connector: "p", Key: fmt.Sprint("K", i), EventID: fmt.Sprint("e", i), Version: 1, LeaseTTL: time.Minute, Retention: time.Hour}
		}
		for i := range 1000 {
			cr, err := s.Claim(ctx, claim(i))
			if err != nil || cr.Status != synclayer.ClaimAcquired {
				t.Fatalf("MemoryMaxEntries(%d): claim %d: %v, %v", n, i, cr, err)
			}
			must(t, s.Complete(ctx, claim(i), cr.Token))
		}
		if done, versions, _ := s.Len(); done != 1000 || versions != 1000 {
			t.Errorf("MemoryMaxEntries(%d): %d done-markers and %d versions kept of 1000; want all", n, done, versions)
		}
		for i := range 1000 {
			if cr, _ := s.Claim(ctx, claim(i)); cr.Status != synclayer.ClaimDone {
				t.Fatalf("MemoryMaxEntries(%d): event %d again: %v, want done", n, i, cr.Status)
			}
		}
	}
}
