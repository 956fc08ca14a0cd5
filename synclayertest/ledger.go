package synclayertest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/idempotency"
)

// LedgerOpener returns the [synclayer.Ledger] under test. Ledgers it
// returns may share their state (one table, one Redis): every subtest of
// [TestLedger] writes under connector names of its own.
type LedgerOpener func(t *testing.T) synclayer.Ledger

// ledgerClockSlack bounds how far a time a ledger stamps with its own clock
// (WantedAt, a store's PushedAt) may be from the test's clock: wide enough
// for a database on another clock, narrow enough to catch a wrong unit.
const ledgerClockSlack = time.Minute

// TestLedger runs the conformance suite for a [synclayer.Ledger], whose
// reference is [synclayer.MemoryStore]: one subtest per rule.
//
//   - UnknownKey: Holding reports false for a key never written; Holdings
//     and Summary of an unknown connector are empty.
//   - PushedKeepsNewer: Pushed records version, event, hash and PushedAt; a
//     late write of an older version changes nothing; the same or a newer
//     version replaces the push; version 0 replaces the push and keeps the
//     version.
//   - WantRaisesOnly: Want raises Wanted and keeps the first WantedAt; a
//     version not above the held or wanted one changes nothing; Pushed
//     clears Wanted once the version reaches it, and not before.
//   - Verified: Verified records VerifiedAt and Drift; drift makes the
//     entry Behind; a later push clears a drift other than InSync.
//   - VerifiedBeforePush: a verdict dated before the entry's PushedAt (a
//     check whose read began before the push landed) is dropped: Drift and
//     VerifiedAt stay as they were, so the entry is not Behind by it and
//     stays unverified; a verdict dated at the push (the same millisecond)
//     or later is recorded; a zero time is now.
//   - HoldingsPages: Holdings walks a connector's keys in byte order after
//     after, limit at a time, and no other connector's.
//   - Summary: Keys, Behind, Unverified, OldestUnverified(At) and
//     OldestBehindAt count the connector's entries only.
//   - ConcurrentPushes: concurrent Pushed of many versions leave the
//     highest, with its event.
//   - ContextCancelled: each method returns the context's error on a
//     cancelled context, and records nothing.
//
// Times given to the ledger (PushedAt, Verified's at) must come back equal
// to the millisecond; times it stamps itself (WantedAt) must be within a
// minute of the test's clock.
func TestLedger(t *testing.T, open LedgerOpener) {
	t.Helper()
	if open == nil {
		t.Fatal("synclayertest: TestLedger needs a LedgerOpener")
	}
	run := suiteRunner(t, "led", func(t *testing.T, ns string) *ledgerSuite {
		return &ledgerSuite{l: open(t), conn: ns}
	})

	run("UnknownKey", func(t *testing.T, s *ledgerSuite) {
		s.absent(t, "k1", "a key never written")
		if hs := s.holdings(t, s.conn, "", 10); len(hs) != 0 {
			t.Errorf("Holdings of an unknown connector = %v, want none", hs)
		}
		if sum := s.summary(t, s.conn); sum != (synclayer.LedgerSummary{Connector: s.conn}) {
			t.Errorf("Summary of an unknown connector = %+v, want only the connector's name", sum)
		}
	})

	run("PushedKeepsNewer", func(t *testing.T, s *ledgerSuite) {
		t0 := ledgerTime(-time.Hour)
		s.pushed(t, "k1", 5, "e5", "h5", t0)
		s.expect(t, "k1", "after Pushed v5", synclayer.Holding{Version: 5, EventID: "e5", Hash: "h5", PushedAt: t0})
		s.pushed(t, "k1", 3, "e3", "h3", t0.Add(time.Second))
		s.expect(t, "k1", "after a late Pushed of the older v3", synclayer.Holding{Version: 5, EventID: "e5", Hash: "h5", PushedAt: t0})
		s.pushed(t, "k1", 5, "e5b", "h5b", t0.Add(2*time.Second))
		s.expect(t, "k1", "after Pushed of the same v5 again", synclayer.Holding{Version: 5, EventID: "e5b", Hash: "h5b", PushedAt: t0.Add(2 * time.Second)})
		s.pushed(t, "k1", 7, "e7", "h7", t0.Add(3*time.Second))
		s.expect(t, "k1", "after Pushed of the newer v7", synclayer.Holding{Version: 7, EventID: "e7", Hash: "h7", PushedAt: t0.Add(3 * time.Second)})
		s.pushed(t, "k1", 0, "e0", "", t0.Add(4*time.Second))
		s.expect(t, "k1", "after an unversioned Pushed", synclayer.Holding{Version: 7, EventID: "e0", PushedAt: t0.Add(4 * time.Second)})
		s.absent(t, "k2", "another key")
	})

	run("WantRaisesOnly", func(t *testing.T, s *ledgerSuite) {
		t0 := ledgerTime(-time.Hour)
		s.want(t, "k1", 4)
		h := s.holding(t, "k1", "after Want v4 of an unknown key")
		if h.Wanted != 4 || h.Version != 0 || !h.Behind() {
			t.Errorf("after Want v4: Wanted %d, Version %d, Behind %v; want 4, 0, true", h.Wanted, h.Version, h.Behind())
		}
		first := h.WantedAt
		if d := time.Since(first); d < -ledgerClockSlack || d > ledgerClockSlack {
			t.Errorf("WantedAt = %v, want about now (%v)", first, time.Now())
		}
		s.want(t, "k1", 6)
		s.wanted(t, "k1", 6, first, "after Want v6 (the first WantedAt stays)")
		s.want(t, "k1", 5)
		s.wanted(t, "k1", 6, first, "after Want v5, below the wanted v6")
		s.pushed(t, "k1", 5, "e5", "h5", t0)
		s.wanted(t, "k1", 6, first, "after Pushed v5, below the wanted v6")
		s.pushed(t, "k1", 6, "e6", "h6", t0.Add(time.Second))
		s.expect(t, "k1", "after Pushed of the wanted v6", synclayer.Holding{Version: 6, EventID: "e6", Hash: "h6", PushedAt: t0.Add(time.Second)})
		s.want(t, "k1", 6)
		s.want(t, "k1", 2)
		s.expect(t, "k1", "after Want of versions not above the held v6", synclayer.Holding{Version: 6, EventID: "e6", Hash: "h6", PushedAt: t0.Add(time.Second)})
		s.want(t, "k1", 9)
		s.pushed(t, "k1", 10, "e10", "h10", t0.Add(2*time.Second))
		s.expect(t, "k1", "after Pushed v10 past the wanted v9", synclayer.Holding{Version: 10, EventID: "e10", Hash: "h10", PushedAt: t0.Add(2 * time.Second)})
	})

	run("Verified", func(t *testing.T, s *ledgerSuite) {
		t0 := ledgerTime(-time.Hour)
		s.pushed(t, "k1", 2, "e2", "h2", t0)
		s.verified(t, "k1", t0.Add(time.Second), synclayer.DriftDiffers)
		want := synclayer.Holding{Version: 2, EventID: "e2", Hash: "h2", PushedAt: t0, VerifiedAt: t0.Add(time.Second), Drift: synclayer.DriftDiffers}
		if h := s.expect(t, "k1", "after Verified differs", want); !h.Behind() {
			t.Error("an entry whose check found a difference is not Behind")
		}
		s.verified(t, "k1", t0.Add(2*time.Second), synclayer.InSync)
		want.VerifiedAt, want.Drift = t0.Add(2*time.Second), synclayer.InSync
		if h := s.expect(t, "k1", "after Verified in sync", want); h.Behind() {
			t.Error("an entry in sync is Behind")
		}
		s.pushed(t, "k1", 3, "e3", "h3", t0.Add(3*time.Second))
		want.Version, want.EventID, want.Hash, want.PushedAt = 3, "e3", "h3", t0.Add(3*time.Second)
		s.expect(t, "k1", "after Pushed of an entry in sync (InSync stays)", want)
		s.verified(t, "k1", t0.Add(4*time.Second), synclayer.DriftMissing)
		s.pushed(t, "k1", 4, "e4", "h4", t0.Add(5*time.Second))
		want = synclayer.Holding{Version: 4, EventID: "e4", Hash: "h4", PushedAt: t0.Add(5 * time.Second), VerifiedAt: t0.Add(4 * time.Second)}
		s.expect(t, "k1", "after Pushed of a missing entry (the drift is cleared)", want)
		s.verified(t, "k2", t0, synclayer.DriftUnexpected)
		s.expect(t, "k2", "after Verified of a key never pushed", synclayer.Holding{VerifiedAt: t0, Drift: synclayer.DriftUnexpected})
	})

	run("VerifiedBeforePush", func(t *testing.T, s *ledgerSuite) {
		t0 := ledgerTime(-time.Hour)
		sec := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Second) }
		s.pushed(t, "k1", 1, "e1", "h1", sec(0))
		s.verified(t, "k1", sec(1), synclayer.InSync)
		s.pushed(t, "k1", 2, "e2", "h2", sec(3))
		// A check whose read began before the push landed: its verdict is
		// of the replaced v1, and is dropped.
		s.verified(t, "k1", sec(2), synclayer.DriftDiffers)
		want := synclayer.Holding{Version: 2, EventID: "e2", Hash: "h2", PushedAt: sec(3), VerifiedAt: sec(1), Drift: synclayer.InSync}
		if h := s.expect(t, "k1", "after Verified differs dated before the push of v2", want); h.Behind() {
			t.Error("a verdict dated before the push makes the freshly pushed entry Behind")
		}
		s.pushed(t, "k2", 1, "e1", "h1", sec(2)) // never verified
		s.verified(t, "k2", sec(1), synclayer.DriftMissing)
		s.expect(t, "k2", "after Verified missing dated before its only push", synclayer.Holding{Version: 1, EventID: "e1", Hash: "h1", PushedAt: sec(2)})
		got := s.summary(t, s.conn)
		wantSum := synclayer.LedgerSummary{Connector: s.conn, Keys: 2, Unverified: 2, OldestUnverified: "k2", OldestUnverifiedAt: sec(2)}
		if !ledgerSummaryEqual(got, wantSum) {
			t.Errorf("Summary after verdicts dated before the pushes = %+v\nwant %+v", got, wantSum)
		}
		// A verdict dated at the push (the same millisecond) is of the
		// pushed state, and is recorded.
		s.verified(t, "k1", sec(3), synclayer.DriftDiffers)
		want.VerifiedAt, want.Drift = sec(3), synclayer.DriftDiffers
		if h := s.expect(t, "k1", "after Verified differs dated at the push", want); !h.Behind() {
			t.Error("an entry whose check at its push found a difference is not Behind")
		}
		// A zero time is now, after the push.
		s.verified(t, "k2", time.Time{}, synclayer.InSync)
		h := s.holding(t, "k2", "after Verified in sync at the zero time")
		if d := time.Since(h.VerifiedAt); h.Drift != synclayer.InSync || d < -ledgerClockSlack || d > ledgerClockSlack {
			t.Errorf("after Verified in sync at the zero time: VerifiedAt %v, Drift %v; want about now (%v), in sync", h.VerifiedAt, h.Drift, time.Now())
		}
	})

	run("HoldingsPages", func(t *testing.T, s *ledgerSuite) {
		t0 := ledgerTime(-time.Hour)
		// Byte order: "B" < "a" < "a\x00" < "ab" < "b" < "é".
		keys := []string{"b", "a\x00", "é", "B", "ab", "a"}
		for i, k := range keys {
			s.pushed(t, k, int64(i+1), "e", "h", t0)
		}
		other := s.conn + "_other"
		s.pushedTo(t, other, "a\x01", 1, "e", "h", t0)
		var got []string
		after := ""
		for range len(keys) + 1 {
			page := s.holdings(t, s.conn, after, 2)
			if len(page) > 2 {
				t.Fatalf("Holdings(after %q, limit 2) returned %d entries", after, len(page))
			}
			if len(page) == 0 {
				break
			}
			for _, h := range page {
				if h.Connector != s.conn {
					t.Errorf("Holdings of %q returned an entry of connector %q", s.conn, h.Connector)
				}
				got = append(got, h.Key)
			}
			after = page[len(page)-1].Key
		}
		want := []string{"B", "a", "a\x00", "ab", "b", "é"}
		if fmt.Sprintf("%q", got) != fmt.Sprintf("%q", want) {
			t.Errorf("walking Holdings 2 at a time gave keys %q, want %q", got, want)
		}
		if page := s.holdings(t, s.conn, "a", 3); len(page) != 3 || page[0].Key != "a\x00" || page[0].Version != 2 {
			t.Errorf("Holdings(after \"a\", limit 3) = %+v, want 3 entries from \"a\\x00\" (version 2)", page)
		}
		if page := s.holdings(t, s.conn, "é", 10); len(page) != 0 {
			t.Errorf("Holdings after the last key = %+v, want none", page)
		}
	})

	run("Summary", func(t *testing.T, s *ledgerSuite) {
		t0 := ledgerTime(-time.Hour)
		sec := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Second) }
		s.pushed(t, "a", 1, "e", "h", sec(1)) // unverified
		s.pushed(t, "b", 1, "e", "h", sec(0)) // unverified, pushed first
		s.pushed(t, "c", 1, "e", "h", sec(2)) // verified in sync since
		s.verified(t, "c", sec(3), synclayer.InSync)
		s.pushed(t, "d", 1, "e", "h", sec(2)) // its check, dated before the push, is dropped: unverified
		s.verified(t, "d", sec(1), synclayer.InSync)
		s.pushed(t, "e", 1, "e", "h", sec(2)) // verified, differs: behind since sec(5)
		s.verified(t, "e", sec(5), synclayer.DriftDiffers)
		s.pushed(t, "f", 1, "e", "h", sec(4)) // unverified, wanted (now): behind
		s.want(t, "f", 3)
		s.pushedTo(t, s.conn+"_other", "a", 1, "e", "h", t0.Add(-time.Hour))
		got := s.summary(t, s.conn)
		want := synclayer.LedgerSummary{Connector: s.conn, Keys: 6, Behind: 2, Unverified: 4,
			OldestUnverified: "b", OldestUnverifiedAt: sec(0), OldestBehindAt: sec(5)}
		if !ledgerSummaryEqual(got, want) {
			t.Errorf("Summary = %+v\nwant      %+v", got, want)
		}
	})

	run("ConcurrentPushes", func(t *testing.T, s *ledgerSuite) {
		t0 := ledgerTime(-time.Hour)
		const n = 40
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for i := range n {
			wg.Go(func() {
				v := int64(i + 1)
				h := synclayer.Holding{Connector: s.conn, Key: "k1", Version: v, EventID: fmt.Sprint("e", v),
					Hash: fmt.Sprint("h", v), PushedAt: t0.Add(time.Duration(v) * time.Millisecond)}
				if err := s.l.Pushed(t.Context(), h); err != nil {
					errs <- err
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatalf("concurrent Pushed: %v", err)
		}
		s.expect(t, "k1", fmt.Sprintf("after %d concurrent pushes", n),
			synclayer.Holding{Version: n, EventID: fmt.Sprint("e", n), Hash: fmt.Sprint("h", n), PushedAt: t0.Add(n * time.Millisecond)})
	})

	run("ContextCancelled", func(t *testing.T, s *ledgerSuite) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		l, now := s.l, time.Now()
		checks := []struct {
			name string
			err  error
		}{
			{"Pushed", l.Pushed(ctx, synclayer.Holding{Connector: s.conn, Key: "k1", Version: 1, EventID: "e1", PushedAt: now})},
			{"Want", l.Want(ctx, s.conn, "k2", 1)},
			{"Verified", l.Verified(ctx, s.conn, "k3", now, synclayer.DriftMissing)},
		}
		_, _, err := l.Holding(ctx, s.conn, "k1")
		checks = append(checks, struct {
			name string
			err  error
		}{"Holding", err})
		_, err = l.Holdings(ctx, s.conn, "", 10)
		checks = append(checks, struct {
			name string
			err  error
		}{"Holdings", err})
		_, err = l.Summary(ctx, s.conn)
		checks = append(checks, struct {
			name string
			err  error
		}{"Summary", err})
		for _, c := range checks {
			if !errors.Is(c.err, context.Canceled) {
				t.Errorf("%s on a cancelled context returned %v, want an error matching context.Canceled", c.name, c.err)
			}
		}
		for _, k := range []string{"k1", "k2", "k3"} {
			s.absent(t, k, "written with a cancelled context")
		}
	})
}

// TestStoreLedger checks a [synclayer.Store] that is also a
// [synclayer.Ledger]: Complete writes the key's ledger entry from the claim
// (Version, EventID, Hash, and PushedAt from the store's clock), with or
// without a done-marker (Retention); a Complete of an older version leaves
// the entry as it is; a claim that is released writes none; Complete of the
// wanted version clears Wanted. Claims of synclayer's own namespaces
// (connectors whose names begin with '$', such as "$announce"), completed
// concurrently and alone, record their versions and write no ledger
// entry. open returns the store over a namespace of its own, as for
// [TestStore]; run [TestLedger] on it as well.
func TestStoreLedger(t *testing.T, open StoreOpener) {
	t.Helper()
	if open == nil {
		t.Fatal("synclayertest: TestStoreLedger needs a StoreOpener")
	}
	st := open(t, "sl"+randomHex(4))
	l, ok := st.(synclayer.Ledger)
	if !ok {
		t.Fatalf("synclayertest: TestStoreLedger: %T is not a synclayer.Ledger", st)
	}
	s := &ledgerSuite{l: l, conn: "conn_" + randomHex(3)}
	ss := &storeSuite{}
	claim := func(key, event string, version int64, retention time.Duration) idempotency.Claim {
		return idempotency.Claim{Connector: s.conn, Key: key, EventID: event, Version: version,
			LeaseTTL: time.Minute, Retention: retention, Hash: "hash-of-" + event}
	}
	push := func(c idempotency.Claim) {
		t.Helper()
		tok := ss.mustAcquire(t, st, c)
		ss.complete(t, st, c, tok)
	}
	recent := func(h synclayer.Holding, what string) {
		t.Helper()
		if d := time.Since(h.PushedAt); d < -ledgerClockSlack || d > ledgerClockSlack {
			t.Errorf("%s: PushedAt = %v, want about now (%v)", what, h.PushedAt, time.Now())
		}
	}

	for _, ret := range []time.Duration{time.Hour, 0} {
		key := fmt.Sprintf("k-ret-%v", ret)
		c5 := claim(key, key+"-e5", 5, ret)
		push(c5)
		h := s.holding(t, key, "after Complete of v5")
		if h.Version != 5 || h.EventID != c5.EventID || h.Hash != c5.Hash {
			t.Errorf("retention %v: after Complete of v5 the entry holds v%d, event %q, hash %q; want v5, %q, %q",
				ret, h.Version, h.EventID, h.Hash, c5.EventID, c5.Hash)
		}
		recent(h, "after Complete")

		s.want(t, key, 9)
		s.wanted(t, key, 9, s.holding(t, key, "after Want").WantedAt, "after Want v9")
		// A stale holder's late Complete of v3 (its lease long gone).
		ss.complete(t, st, claim(key, key+"-e3", 3, ret), "not-a-token")
		if h2 := s.holding(t, key, "after a late Complete of v3"); h2.Version != 5 || h2.EventID != c5.EventID || h2.Hash != c5.Hash || h2.Wanted != 9 {
			t.Errorf("retention %v: a late Complete of v3 changed the entry to v%d, event %q, hash %q, wanted %d; want v5, %q, %q, 9",
				ret, h2.Version, h2.EventID, h2.Hash, h2.Wanted, c5.EventID, c5.Hash)
		}
		c9 := claim(key, key+"-e9", 9, ret)
		push(c9)
		if h := s.holding(t, key, "after Complete of the wanted v9"); h.Version != 9 || h.EventID != c9.EventID || h.Hash != c9.Hash || h.Wanted != 0 || !h.WantedAt.IsZero() {
			t.Errorf("retention %v: after Complete of the wanted v9 the entry is %+v; want v9, %q, %q, nothing wanted", ret, h, c9.EventID, c9.Hash)
		}
		c0 := claim(key, key+"-e0", 0, ret)
		c0.Hash = ""
		push(c0)
		if h := s.holding(t, key, "after an unversioned Complete"); h.Version != 9 || h.EventID != c0.EventID || h.Hash != "" {
			t.Errorf("retention %v: after an unversioned Complete the entry is %+v; want v9, event %q, no hash", ret, h, c0.EventID)
		}
	}

	c := claim("k-released", "e1", 1, time.Hour)
	ss.release(t, st, c, ss.mustAcquire(t, st, c))
	s.absent(t, "k-released", "a key claimed and released, never completed")
	if sum := s.summary(t, s.conn); sum.Keys != 2 || sum.Unverified != 2 {
		t.Errorf("Summary after completes of two keys = %+v, want 2 keys, 2 unverified", sum)
	}
	storeLedgerOwnNamespace(t, st, l)
}

// ledgerSuite is the state of one subtest of TestLedger.
type ledgerSuite struct {
	l    synclayer.Ledger
	conn string
}

// ledgerTime returns now plus d, to the millisecond (what a ledger keeps).
func ledgerTime(d time.Duration) time.Time {
	return time.UnixMilli(time.Now().Add(d).UnixMilli())
}

func (s *ledgerSuite) pushed(t *testing.T, key string, v int64, event, hash string, at time.Time) {
	t.Helper()
	s.pushedTo(t, s.conn, key, v, event, hash, at)
}

func (s *ledgerSuite) pushedTo(t *testing.T, conn, key string, v int64, event, hash string, at time.Time) {
	t.Helper()
	h := synclayer.Holding{Connector: conn, Key: key, Version: v, EventID: event, Hash: hash, PushedAt: at}
	if err := s.l.Pushed(t.Context(), h); err != nil {
		t.Fatalf("Pushed(%q, v%d): %v", key, v, err)
	}
}

func (s *ledgerSuite) want(t *testing.T, key string, v int64) {
	t.Helper()
	if err := s.l.Want(t.Context(), s.conn, key, v); err != nil {
		t.Fatalf("Want(%q, v%d): %v", key, v, err)
	}
}

func (s *ledgerSuite) verified(t *testing.T, key string, at time.Time, d synclayer.Drift) {
	t.Helper()
	if err := s.l.Verified(t.Context(), s.conn, key, at, d); err != nil {
		t.Fatalf("Verified(%q, %v): %v", key, d, err)
	}
}

// holding returns the entry of key, failing the test when there is none.
func (s *ledgerSuite) holding(t *testing.T, key, what string) synclayer.Holding {
	t.Helper()
	h, ok, err := s.l.Holding(t.Context(), s.conn, key)
	if err != nil {
		t.Fatalf("Holding(%q) %s: %v", key, what, err)
	}
	if !ok {
		t.Fatalf("Holding(%q) %s reported no entry", key, what)
	}
	if h.Connector != s.conn || h.Key != key {
		t.Errorf("Holding(%q, %q) %s returned the entry of (%q, %q)", s.conn, key, what, h.Connector, h.Key)
	}
	return h
}

func (s *ledgerSuite) absent(t *testing.T, key, what string) {
	t.Helper()
	h, ok, err := s.l.Holding(t.Context(), s.conn, key)
	if err != nil {
		t.Fatalf("Holding(%q) of %s: %v", key, what, err)
	}
	if ok {
		t.Errorf("Holding(%q) of %s = %+v, want no entry", key, what, h)
	}
}

// expect checks the entry of key against want, whose Connector and Key
// it fills in, and returns it.
func (s *ledgerSuite) expect(t *testing.T, key, what string, want synclayer.Holding) synclayer.Holding {
	t.Helper()
	want.Connector, want.Key = s.conn, key
	h := s.holding(t, key, what)
	if !holdingEqual(h, want) {
		t.Errorf("%s: Holding(%q) = %+v\nwant %+v", what, key, h, want)
	}
	return h
}

// wanted checks that key wants v since at.
func (s *ledgerSuite) wanted(t *testing.T, key string, v int64, at time.Time, what string) {
	t.Helper()
	h := s.holding(t, key, what)
	if h.Wanted != v || !h.WantedAt.Equal(at) {
		t.Errorf("%s: Wanted %d since %v, want %d since %v", what, h.Wanted, h.WantedAt, v, at)
	}
}

func (s *ledgerSuite) holdings(t *testing.T, conn, after string, limit int) []synclayer.Holding {
	t.Helper()
	hs, err := s.l.Holdings(t.Context(), conn, after, limit)
	if err != nil {
		t.Fatalf("Holdings(%q, after %q, %d): %v", conn, after, limit, err)
	}
	return hs
}

func (s *ledgerSuite) summary(t *testing.T, conn string) synclayer.LedgerSummary {
	t.Helper()
	sum, err := s.l.Summary(t.Context(), conn)
	if err != nil {
		t.Fatalf("Summary(%q): %v", conn, err)
	}
	return sum
}

// holdingEqual compares entries, times with Equal (locations differ).
func holdingEqual(a, b synclayer.Holding) bool {
	ta := []time.Time{a.PushedAt, a.WantedAt, a.VerifiedAt}
	tb := []time.Time{b.PushedAt, b.WantedAt, b.VerifiedAt}
	for i := range ta {
		if !ta[i].Equal(tb[i]) {
			return false
		}
	}
	a.PushedAt, a.WantedAt, a.VerifiedAt = time.Time{}, time.Time{}, time.Time{}
	b.PushedAt, b.WantedAt, b.VerifiedAt = time.Time{}, time.Time{}, time.Time{}
	return a == b
}

// ledgerSummaryEqual compares summaries, times with Equal.
func ledgerSummaryEqual(a, b synclayer.LedgerSummary) bool {
	if !a.OldestUnverifiedAt.Equal(b.OldestUnverifiedAt) || !a.OldestBehindAt.Equal(b.OldestBehindAt) {
		return false
	}
	a.OldestUnverifiedAt, a.OldestBehindAt = time.Time{}, time.Time{}
	b.OldestUnverifiedAt, b.OldestBehindAt = time.Time{}, time.Time{}
	return a == b
}
