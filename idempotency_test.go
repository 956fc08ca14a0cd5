package synclayer_test

import (
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/idempotency"
	"github.com/hmsplatform/synclayer/synclayertest"
)

// Rule 8: the memory store forgets what expired and stays within its bound.
func TestMemoryStoreExpiresDoneMarkersAndLeases(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := new(synclayer.MemoryStore)
		ctx := t.Context()
		c := idempotency.Claim{Connector: "p", Key: "K", EventID: "e1", LeaseTTL: time.Minute, Retention: time.Hour}
		cr, err := s.Claim(ctx, c)
		if err != nil || cr.Status != idempotency.ClaimAcquired {
			t.Fatalf("first claim: %v, %v", cr, err)
		}
		// A crashed holder never releases: the lease blocks until it expires.
		c2 := c
		c2.EventID = "e2"
		if cr, _ := s.Claim(ctx, c2); cr.Status != idempotency.ClaimBusy {
			t.Fatalf("claim while leased = %v, want busy", cr.Status)
		}
		time.Sleep(time.Minute)
		cr2, err := s.Claim(ctx, c2)
		if err != nil || cr2.Status != idempotency.ClaimAcquired {
			t.Fatalf("claim after lease expiry = %v, %v; want acquired", cr2.Status, err)
		}
		must(t, s.Complete(ctx, c2, cr2.Token))
		if cr, _ := s.Claim(ctx, c2); cr.Status != idempotency.ClaimDone {
			t.Fatalf("claim of a completed event = %v, want done", cr.Status)
		}
		time.Sleep(time.Hour + time.Second)
		if cr, _ := s.Claim(ctx, c2); cr.Status != idempotency.ClaimAcquired {
			t.Fatalf("claim after retention = %v, want acquired (the marker expired)", cr.Status)
		}
	})
}

func TestMemoryStoreBoundedUnderUniqueEvents(t *testing.T) {
	const bound = 2048
	reg, _ := newFakes(t, 1)
	s := &synclayer.MemoryStore{MaxEntries: bound}
	d := synclayertest.NewDispatcher(t, reg, synclayer.WithObserver(synclayer.NoObserver), synclayer.WithStore(s))
	n := 50_000
	if testing.Short() {
		n = 10_000
	}
	for i := range n {
		if _, err := d.Dispatch(t.Context(), event(fmt.Sprint("e", i), fmt.Sprint("K", i), 1)); err != nil {
			t.Fatal(err)
		}
	}
	done, versions, leases := s.Len()
	if done > bound+32 || versions > bound+32 || leases != 0 {
		t.Fatalf("after %d unique events: %d done-markers, %d versions, %d leases; want each within %d and no lease left", n, done, versions, leases, bound)
	}
	// The newest are kept: the last event is still a duplicate.
	rep, _ := d.Dispatch(t.Context(), event(fmt.Sprint("e", n-1), fmt.Sprint("K", n-1), 1))
	if rep.Results[0].Status != synclayer.StatusDuplicate {
		t.Fatalf("newest event after eviction: %v, want duplicate", rep.Results[0].Status)
	}
}
