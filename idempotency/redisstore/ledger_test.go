package redisstore_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/idempotency"
	"github.com/hmsplatform/synclayer/idempotency/internal/storetest"
	"github.com/hmsplatform/synclayer/idempotency/redisstore"
	"github.com/hmsplatform/synclayer/internal/testenv"
	"github.com/hmsplatform/synclayer/synclayertest"
)

// TestLedgerConformance runs synclayertest.TestLedger on one store (the
// suite keeps its subtests apart by connector), and
// synclayertest.TestStoreLedger with group commit on and off, so that a
// lone Complete and a pipelined one both write the entry and the index,
// and over a client that is not a *redis.Client, as a cluster's is not,
// for which the index's ZADD goes beside Complete's script.
func TestLedgerConformance(t *testing.T) {
	testenv.Redis.Need(t)
	s := openPrefixed(t, newClient(t), uniquePrefix(t))
	synclayertest.TestLedger(t, func(t *testing.T) synclayer.Ledger { return s })
	for _, mode := range []string{"batched", "unbatched", "index-beside-script"} {
		t.Run("Complete/"+mode, func(t *testing.T) {
			synclayertest.TestStoreLedger(t, func(t *testing.T, ns string) synclayer.Store {
				var c redis.UniversalClient = newClient(t)
				if mode == "index-beside-script" {
					c = notSingle{c.(*redis.Client)}
				}
				st := openPrefixed(t, c, "synclayertest:"+ns+":")
				if mode == "unbatched" {
					redisstore.Unbatched(st)
				}
				return st
			})
		})
	}
}

// notSingle is a single-node client the store does not recognise as one.
type notSingle struct{ *redis.Client }

// TestLedgerConcurrentCompletes writes the entries of 64 keys with
// concurrent Completes, which share pipelines: every entry holds its own
// event and hash, in the index in key order. A key whose hash expired
// (retention 1ms) stays in the index, and Holdings and Summary skip it.
func TestLedgerConcurrentCompletes(t *testing.T) {
	testenv.Redis.Need(t)
	s := openPrefixed(t, newClient(t), uniquePrefix(t))
	ctx := t.Context()
	const n = 64
	claims := make([]idempotency.Claim, n)
	for i := range n {
		claims[i] = idempotency.Claim{Connector: "c", Key: fmt.Sprintf("k%02d", i), EventID: fmt.Sprint("e", i),
			Version: int64(i + 1), LeaseTTL: time.Minute, Retention: time.Hour, Hash: fmt.Sprint("h", i)}
	}
	claims[0].Retention = time.Millisecond
	storetest.CompleteAtOnce(t, s, claims)
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, ok, err := s.Holding(ctx, "c", "k00")
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the entry of a 1ms retention is still there after 10s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	hs, err := s.Holdings(ctx, "c", "", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(hs) != 10 || hs[0].Key != "k01" || hs[9].Key != "k10" {
		t.Fatalf("first page of Holdings = %d entries from %v; want 10, k01 to k10 (k00 expired)", len(hs), hs)
	}
	all, err := s.Holdings(ctx, "c", "", 0)
	if err != nil {
		t.Fatal(err)
	}
	for i, h := range all {
		c := claims[i+1]
		if h.Key != c.Key || h.Version != c.Version || h.EventID != c.EventID || h.Hash != c.Hash || h.PushedAt.IsZero() {
			t.Errorf("entry %d = %+v, want key %q v%d, event %q, hash %q, a PushedAt", i, h, c.Key, c.Version, c.EventID, c.Hash)
		}
	}
	if len(all) != n-1 {
		t.Errorf("Holdings of all = %d entries, want %d", len(all), n-1)
	}
	if sum, err := s.Summary(ctx, "c"); err != nil || sum.Keys != n-1 || sum.Unverified != n-1 || sum.Behind != 0 {
		t.Errorf("Summary = %+v, %v; want %d keys, all unverified, none behind", sum, err, n-1)
	}
	if st := redisstore.Stats(s); st.Ops <= st.Rounds {
		t.Logf("no round trip carried two calls (%+v): the pipelined path went untested this run", st)
	}
}

// pttl returns the PTTL of the hash of ("c", key) in ms: -1 for none, -2
// for no hash.
func pttl(t *testing.T, c *redis.Client, s *redisstore.Store, key string) int64 {
	t.Helper()
	ms, err := c.Do(t.Context(), "PTTL", redisstore.HashKey(s, "c", key)).Int64()
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

// complete claims and completes version v (event e<v>) of key.
func complete(t *testing.T, s *redisstore.Store, key string, v int64) {
	t.Helper()
	c := idempotency.Claim{Connector: "c", Key: key, EventID: fmt.Sprint("e", v), Version: v,
		LeaseTTL: time.Minute, Retention: time.Hour}
	r := mustClaim(t, s, c, idempotency.ClaimAcquired)
	if err := s.Complete(t.Context(), c, r.Token); err != nil {
		t.Fatal(err)
	}
}

// A key behind (Want of v5) keeps no TTL on its hash until a Complete
// reaches the wanted version: a Complete of v3 leaves it without one (it
// set the retention, and the entry behind, with the key's version, would
// expire before v5 is pushed), and the Complete of v5 sets it again.
func TestCompleteBelowWantedKeepsEntryBehind(t *testing.T) {
	c := newClient(t)
	s := openPrefixed(t, c, uniquePrefix(t))
	ctx := t.Context()
	complete(t, s, "k", 1)
	if ms := pttl(t, c, s, "k"); ms <= 0 {
		t.Fatalf("hash after Complete(v1): PTTL %d, want the retention", ms)
	}
	if err := s.Want(ctx, "c", "k", 5); err != nil {
		t.Fatal(err)
	}
	if ms := pttl(t, c, s, "k"); ms != -1 {
		t.Fatalf("hash after Want(v5): PTTL %d, want none (-1)", ms)
	}
	complete(t, s, "k", 3)
	if ms := pttl(t, c, s, "k"); ms != -1 {
		t.Errorf("hash of the entry behind after Complete(v3), v5 wanted: PTTL %d, want none (-1)", ms)
	}
	if h, ok, err := s.Holding(ctx, "c", "k"); err != nil || !ok || !h.Behind() || h.Version != 3 || h.Wanted != 5 {
		t.Errorf("entry after Complete(v3) = %+v, %v, %v; want v3 behind v5", h, ok, err)
	}
	complete(t, s, "k", 5)
	if ms := pttl(t, c, s, "k"); ms <= 0 {
		t.Errorf("hash after Complete(v5), level again: PTTL %d, want the retention", ms)
	}
	if h, ok, err := s.Holding(ctx, "c", "k"); err != nil || !ok || h.Behind() || h.Version != 5 {
		t.Errorf("entry after Complete(v5) = %+v, %v, %v; want v5, level", h, ok, err)
	}
}

// A check that finds a drift makes the entry behind, and its hash loses
// the TTL of its last Complete (the drifted entry expired one retention
// later); an older Complete, which does not bring it level, leaves it
// without one, and a Complete that brings it level sets it again. A check
// in sync leaves the TTL as it is.
func TestDriftedEntryKept(t *testing.T) {
	c := newClient(t)
	s := openPrefixed(t, c, uniquePrefix(t))
	ctx := t.Context()
	complete(t, s, "k", 2)
	if err := s.Verified(ctx, "c", "k", time.Now(), synclayer.DriftDiffers); err != nil {
		t.Fatal(err)
	}
	if ms := pttl(t, c, s, "k"); ms != -1 {
		t.Errorf("hash of the drifted entry: PTTL %d, want none (-1)", ms)
	}
	older := idempotency.Claim{Connector: "c", Key: "k", EventID: "e1", Version: 1, LeaseTTL: time.Minute, Retention: time.Hour}
	if err := s.Complete(ctx, older, "no-lease"); err != nil {
		t.Fatal(err)
	}
	if ms := pttl(t, c, s, "k"); ms != -1 {
		t.Errorf("hash of the drifted entry after an older Complete: PTTL %d, want none (-1)", ms)
	}
	if h, ok, err := s.Holding(ctx, "c", "k"); err != nil || !ok || !h.Behind() || h.Drift != synclayer.DriftDiffers {
		t.Errorf("entry after the older Complete = %+v, %v, %v; want it drifted", h, ok, err)
	}
	complete(t, s, "k", 3)
	if ms := pttl(t, c, s, "k"); ms <= 0 {
		t.Errorf("hash after Complete(v3), level again: PTTL %d, want the retention", ms)
	}
	if err := s.Verified(ctx, "c", "k", time.Now(), synclayer.InSync); err != nil {
		t.Fatal(err)
	}
	if ms := pttl(t, c, s, "k"); ms <= 0 {
		t.Errorf("hash after a check in sync: PTTL %d, want the retention", ms)
	}
	if h, ok, err := s.Holding(ctx, "c", "k"); err != nil || !ok || h.Behind() || h.Version != 3 {
		t.Errorf("entry after Complete(v3) and a check in sync = %+v, %v, %v; want v3, level", h, ok, err)
	}
}
