package synclayer_test

import (
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/idempotency"
)

// After the retention window the done-marker is gone, but the version check
// still holds: a redelivery, or an older version arriving late, is stale,
// not pushed again over the newer version. Pushes of many other keys let
// every shard of the store sweep in between.
func TestMemoryStoreKeepsVersionsPastRetention(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := new(synclayer.MemoryStore)
		ctx := t.Context()
		c := idempotency.Claim{Connector: "p", Key: "K", EventID: "e5", Version: 5, LeaseTTL: time.Minute, Retention: time.Hour}
		cr, err := s.Claim(ctx, c)
		if err != nil || cr.Status != idempotency.ClaimAcquired {
			t.Fatalf("claim: %v, %v", cr, err)
		}
		must(t, s.Complete(ctx, c, cr.Token))

		time.Sleep(2 * time.Hour)
		for i := range 1000 {
			o := idempotency.Claim{Connector: "p", Key: fmt.Sprint("other-", i), EventID: fmt.Sprint("o", i), Version: 1, LeaseTTL: time.Minute, Retention: time.Hour}
			cr, err := s.Claim(ctx, o)
			if err != nil || cr.Status != idempotency.ClaimAcquired {
				t.Fatalf("claim of %s: %v, %v", o.Key, cr, err)
			}
			must(t, s.Complete(ctx, o, cr.Token))
		}

		for _, late := range []idempotency.Claim{
			c, // the same event again, its done-marker expired
			{Connector: "p", Key: "K", EventID: "e3", Version: 3, LeaseTTL: time.Minute, Retention: time.Hour},
		} {
			cr, err := s.Claim(ctx, late)
			if err != nil || cr.Status != idempotency.ClaimStale || cr.Version != 5 {
				t.Errorf("%s (v%d) after the retention window: %v, %v; want stale behind v5", late.EventID, late.Version, cr, err)
			}
		}
	})
}

// A MaxEntries of zero or less keeps the default bound of a million
// entries: a thousand done-markers are all kept.
func TestMemoryStoreMaxEntriesNonPositiveMeansDefault(t *testing.T) {
	for _, n := range []int{0, -1} {
		s := &synclayer.MemoryStore{MaxEntries: n}
		ctx := t.Context()
		claim := func(i int) idempotency.Claim {
			return idempotency.Claim{Connector: "p", Key: fmt.Sprint("K", i), EventID: fmt.Sprint("e", i), Version: 1, LeaseTTL: time.Minute, Retention: time.Hour}
		}
		for i := range 1000 {
			cr, err := s.Claim(ctx, claim(i))
			if err != nil || cr.Status != idempotency.ClaimAcquired {
				t.Fatalf("MaxEntries %d: claim %d: %v, %v", n, i, cr, err)
			}
			must(t, s.Complete(ctx, claim(i), cr.Token))
		}
		if done, versions, _ := s.Len(); done != 1000 || versions != 1000 {
			t.Errorf("MaxEntries %d: %d done-markers and %d versions kept of 1000; want all", n, done, versions)
		}
		for i := range 1000 {
			if cr, _ := s.Claim(ctx, claim(i)); cr.Status != idempotency.ClaimDone {
				t.Fatalf("MaxEntries %d: event %d again: %v, want done", n, i, cr.Status)
			}
		}
	}
}

// A holder whose lease expired and was taken by another can still complete
// its push (the push happened), but never drops the new holder's lease, on
// a versioned or an unversioned key.
func TestMemoryStoreLateCompleteKeepsNewLease(t *testing.T) {
	for _, version := range []int64{0, 4} {
		synctest.Test(t, func(t *testing.T) {
			s := new(synclayer.MemoryStore)
			ctx := t.Context()
			claim := func(id string, v int64) idempotency.Claim {
				return idempotency.Claim{Connector: "p", Key: "K", EventID: id, Version: v, LeaseTTL: time.Minute, Retention: time.Hour}
			}
			old := claim("e1", version)
			oldTok := mustClaim(t, s, old, idempotency.ClaimAcquired).Token
			time.Sleep(2 * time.Minute) // the first holder stalls past its lease
			mustClaim(t, s, claim("e2", version*2), idempotency.ClaimAcquired)

			must(t, s.Complete(ctx, old, oldTok))
			mustClaim(t, s, old, idempotency.ClaimDone)
			if cr := mustClaim(t, s, claim("e3", version*3), idempotency.ClaimBusy); !cr.Expires.After(time.Now()) {
				t.Fatalf("v%d: busy until %v, want a live lease", version, cr.Expires)
			}
			must(t, s.Release(ctx, old, oldTok))
			mustClaim(t, s, claim("e3", version*3), idempotency.ClaimBusy)
			if _, versions, leases := s.Len(); leases != 1 || versions != min(int(version), 1) {
				t.Fatalf("v%d: Len reports %d versions and %d leases; want %d and 1", version, versions, leases, min(int(version), 1))
			}
		})
	}
}

// A lease its holder never gave back (the holder died) is forgotten once
// it has expired and the store sweeps: it does not count forever.
func TestMemoryStoreSweepsExpiredLeases(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &synclayer.MemoryStore{MaxEntries: 1} // sweeps at every claim of a busy shard
		ctx := t.Context()
		mustClaim(t, s, idempotency.Claim{Connector: "p", Key: "dead", EventID: "e0", LeaseTTL: time.Minute}, idempotency.ClaimAcquired)
		time.Sleep(2 * time.Minute)
		for i := range 1000 {
			c := idempotency.Claim{Connector: "p", Key: fmt.Sprint("K", i), EventID: fmt.Sprint("e", i+1), LeaseTTL: time.Minute}
			cr := mustClaim(t, s, c, idempotency.ClaimAcquired)
			must(t, s.Release(ctx, c, cr.Token))
		}
		if done, versions, leases := s.Len(); done != 0 || versions != 0 || leases != 0 {
			t.Fatalf("Len = %d done-markers, %d versions, %d leases; want nothing left", done, versions, leases)
		}
	})
}

func mustClaim(t *testing.T, s synclayer.Store, c idempotency.Claim, want idempotency.ClaimStatus) idempotency.ClaimResult {
	t.Helper()
	cr, err := s.Claim(t.Context(), c)
	if err != nil || cr.Status != want {
		t.Fatalf("claim of %s (v%d): %v, %v; want %v", c.EventID, c.Version, cr.Status, err, want)
	}
	return cr
}

// Over its bound the store forgets the least recently raised versions
// first: however the keys fall into its shards, the newest ones are kept
// and still protect their keys from stale pushes.
func TestMemoryStoreForgetsOldestVersionsFirst(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const bound, n, newest = 1280, 3000, 30
		s := &synclayer.MemoryStore{MaxEntries: bound}
		ctx := t.Context()
		claim := func(i int, v int64) idempotency.Claim {
			return idempotency.Claim{Connector: "p", Key: fmt.Sprint("K", i), EventID: fmt.Sprintf("e%d-v%d", i, v), Version: v, LeaseTTL: time.Minute, Retention: 24 * time.Hour}
		}
		for i := range n {
			cr := mustClaim(t, s, claim(i, 2), idempotency.ClaimAcquired)
			must(t, s.Complete(ctx, claim(i, 2), cr.Token))
			time.Sleep(time.Second) // each version raised at its own time
		}
		if _, versions, _ := s.Len(); versions > bound || versions < bound/2 {
			t.Errorf("%d versions kept, want about the bound, %d", versions, bound)
		}
		for i := n - newest; i < n; i++ {
			if cr, err := s.Claim(ctx, claim(i, 1)); err != nil || cr.Status != idempotency.ClaimStale {
				t.Errorf("K%d, one of the %d newest keys, at an older version: %v, %v; want stale", i, newest, cr.Status, err)
			}
		}
	})
}

// A claim with no retention records the version but keeps no done-marker.
func TestMemoryStoreZeroRetentionKeepsNoMarker(t *testing.T) {
	s := new(synclayer.MemoryStore)
	c := idempotency.Claim{Connector: "p", Key: "K", EventID: "e1", Version: 3, LeaseTTL: time.Minute}
	cr := mustClaim(t, s, c, idempotency.ClaimAcquired)
	must(t, s.Complete(t.Context(), c, cr.Token))
	if done, versions, leases := s.Len(); done != 0 || versions != 1 || leases != 0 {
		t.Fatalf("Len = %d done-markers, %d versions, %d leases; want 0, 1, 0", done, versions, leases)
	}
	mustClaim(t, s, c, idempotency.ClaimStale) // not done, but stale
}

// A done-marker completed again lives for the retention from its last
// Complete, while the pushes of other events sweep the store around it;
// then it is forgotten.
func TestMemoryStoreCompletedAgainKeepsMarkerLonger(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &synclayer.MemoryStore{MaxEntries: 64 * 32}
		ctx := t.Context()
		c := idempotency.Claim{Connector: "p", Key: "K", EventID: "e1", LeaseTTL: time.Minute, Retention: time.Hour}
		others := 0
		pushOthers := func() {
			for range 200 {
				o := idempotency.Claim{Connector: "p", Key: fmt.Sprint("other-", others), EventID: fmt.Sprint("o", others), LeaseTTL: time.Minute, Retention: time.Hour}
				others++
				cr, err := s.Claim(ctx, o)
				if err != nil || cr.Status != idempotency.ClaimAcquired {
					t.Fatalf("claim of %s: %v, %v", o.EventID, cr, err)
				}
				must(t, s.Complete(ctx, o, cr.Token))
			}
		}
		cr, err := s.Claim(ctx, c)
		if err != nil || cr.Status != idempotency.ClaimAcquired {
			t.Fatalf("claim: %v, %v", cr, err)
		}
		must(t, s.Complete(ctx, c, cr.Token))
		time.Sleep(30 * time.Minute)
		must(t, s.Complete(ctx, c, "")) // completed again, without a lease
		for _, step := range []struct {
			sleep time.Duration
			want  idempotency.ClaimStatus
		}{
			{31 * time.Minute, idempotency.ClaimDone},     // an hour after the first Complete
			{30 * time.Minute, idempotency.ClaimAcquired}, // an hour after the second
		} {
			time.Sleep(step.sleep)
			pushOthers()
			cr, err := s.Claim(ctx, c)
			if err != nil || cr.Status != step.want {
				t.Fatalf("e1 after %v more: %v, %v; want %v", step.sleep, cr.Status, err, step.want)
			}
			if cr.Status == idempotency.ClaimAcquired {
				must(t, s.Release(ctx, c, cr.Token))
			}
		}
	})
}

// Over its bound the store forgets the least recently used keys, never a
// key under a live lease or one whose ledger entry is behind: those stay
// however many newer keys come after them.
func TestMemoryStoreForgetsLeastRecentlyUsedKeys(t *testing.T) {
	const bound, n = 2048, 20_000 // 64 keys a shard: a key used every third key never reaches the front
	s := &synclayer.MemoryStore{MaxEntries: bound}
	ctx := t.Context()
	push := func(key string, v int64) {
		t.Helper()
		c := idempotency.Claim{Connector: "p", Key: key, EventID: fmt.Sprintf("%s-v%d", key, v), Version: v, LeaseTTL: time.Hour, Retention: time.Hour}
		cr := mustClaim(t, s, c, idempotency.ClaimAcquired)
		must(t, s.Complete(ctx, c, cr.Token))
	}
	mustClaim(t, s, idempotency.Claim{Connector: "p", Key: "leased", EventID: "l1", LeaseTTL: time.Hour}, idempotency.ClaimAcquired)
	must(t, s.Want(ctx, "p", "behind", 9))
	push("used", 5)
	for i := range n {
		push(fmt.Sprint("K", i), 1)
		if i%3 == 0 {
			// Claimed again and again (a push that then failed): never the
			// least recently used, so its version stays.
			c := idempotency.Claim{Connector: "p", Key: "used", EventID: fmt.Sprint("u", i), LeaseTTL: time.Hour}
			cr := mustClaim(t, s, c, idempotency.ClaimAcquired)
			must(t, s.Release(ctx, c, cr.Token))
		}
	}
	if _, versions, leases := s.Len(); versions > bound+32 || leases != 1 {
		t.Errorf("after %d keys: %d versions, %d leases; want about the bound (%d) and the one live lease", n, versions, leases, bound)
	}
	mustClaim(t, s, idempotency.Claim{Connector: "p", Key: "leased", EventID: "l2", LeaseTTL: time.Hour}, idempotency.ClaimBusy)
	if h, ok, err := s.Holding(ctx, "p", "behind"); err != nil || !ok || h.Wanted != 9 {
		t.Errorf("ledger entry of a key behind: %+v, %v, %v; want it kept, wanting v9", h, ok, err)
	}
	mustClaim(t, s, idempotency.Claim{Connector: "p", Key: "used", EventID: "late", Version: 3, LeaseTTL: time.Hour}, idempotency.ClaimStale)
	mustClaim(t, s, idempotency.Claim{Connector: "p", Key: "K0", EventID: "late", Version: 1, LeaseTTL: time.Hour}, idempotency.ClaimAcquired)
}
