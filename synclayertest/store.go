package synclayertest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	mrand "math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/idempotency"
)

// StoreOpener opens the [synclayer.Store] under test over the namespace ns:
// a table name, a key prefix, or whatever the store uses to keep unrelated
// users apart. ns is made of lowercase ASCII letters, digits and
// underscores, starts with a letter and is at most 40 bytes long.
//
// Two calls with the same ns within one test must return stores that share
// their state, as two processes on one database do: that is how
// [TestStore] checks that what a store records survives a restart. Calls
// with different ns must return isolated stores. The opener registers with
// t.Cleanup whatever it must remove (tables, keys, connections).
//
// A store returned by the opener may implement [BreakableStore]; then the
// suite also checks how it behaves when its connection breaks.
type StoreOpener func(t *testing.T, ns string) synclayer.Store

// BreakableStore is an optional capability of a store returned by a
// [StoreOpener]: a store over a connection (a pool, a client) that the
// suite can cut. Wrap the store in a small type of the test's own to offer
// it.
type BreakableStore interface {
	synclayer.Store
	// BreakConnection cuts the store off from its backend for good, for
	// example by closing its pool or client, or by killing its server
	// sessions, so that every later call must fail.
	BreakConnection(t *testing.T)
}

// storeWait bounds every wait of the suite: leases and retention use short
// durations and the suite polls until they pass, up to this deadline.
const storeWait = 10 * time.Second

// storeShortTTL is the short lease TTL and retention the suite uses when it
// waits for expiry.
const storeShortTTL = 300 * time.Millisecond

// TestStore runs the conformance suite for a [synclayer.Store]: one subtest
// per rule of the Store contract, each explained in its comment and in its
// failure messages. Every subtest opens its stores over its own fresh
// namespace, so the subtests of one run and of concurrent runs never
// collide.
//
// The rules:
//
//   - AcquireCompleteDone: a fresh claim is acquired with a token; after
//     Complete the same event is done.
//   - ClaimAloneRecordsNothing: a claim that is released records neither a
//     done-marker nor a version.
//   - BusyWhileHeld: a live lease makes other claims on the key busy, and
//     says when it ends; other keys and other connectors are independent.
//   - ReleaseFreesKey: Release drops the holder's lease at once.
//   - TokenOwnership: a holder can drop only its own lease, with Release
//     or Complete; a stale holder's Complete still records its push.
//   - DecisionOrder: done beats stale, stale beats busy, busy beats
//     acquired.
//   - Versions: a version not newer than the last applied is stale;
//     version 0 is never stale and never raises; versions never fall.
//   - LargeVersions: versions compare exactly up to the largest int64.
//   - OneWinnerOf50: 50 goroutines claiming one key get exactly one winner.
//   - ExpiredLeaseTaken: a lease never released (its holder died) can be
//     taken once its TTL has passed, and not before.
//   - RestartKeepsState: done-markers and versions survive a new store
//     instance on the same namespace; another namespace is isolated.
//   - ConcurrentVersionsRise: concurrent Completes with many versions leave
//     the highest one.
//   - RetentionExpiry: a done-marker is forgotten once its retention passes.
//   - ContextCancelled: a cancelled or expired context makes each method
//     return promptly with the context's error, and take nothing.
//   - KeysOfAnyBytes: keys, event IDs and connector names of any bytes
//     (quotes, NUL, 10 KB, invalid UTF-8) are stored and found exactly,
//     without collisions.
//   - BrokenConnection: when the store implements [BreakableStore], every
//     call after the connection broke returns an error, never a
//     ClaimDone or ClaimStale. Skipped for other stores.
//   - TwoDispatchers: two Dispatchers, each with its own store instance over
//     one namespace (two processes on one database), receive the same 1,000
//     events concurrently: each partner record is written once, and each
//     event is reported synced by one and duplicate by the other.
//
// Timing: the suite uses 300 ms leases and retention and polls with a
// deadline, so a run takes a few seconds.
func TestStore(t *testing.T, open StoreOpener) {
	t.Helper()
	if open == nil {
		t.Fatal("synclayertest: TestStore needs a StoreOpener")
	}
	run := suiteRunner(t, "st", func(t *testing.T, ns string) *storeSuite {
		return &storeSuite{open: open, ns: ns}
	})

	// A fresh claim takes the lease and returns a token; Complete with that
	// token records the event as done, so a redelivery of the same event is
	// reported done, and the lease is gone, so the next event of the key is
	// acquired at once.
	run("AcquireCompleteDone", func(t *testing.T, s *storeSuite) {
		st := s.store(t)
		c := s.claim("k1", "e1", 0)
		tok := s.mustAcquire(t, st, c)
		s.complete(t, st, c, tok)
		s.expect(t, st, c, idempotency.ClaimDone, "the same event after Complete")
		s.mustAcquire(t, st, s.claim("k1", "e2", 0))
	})

	// A claim only takes a lease: released, it leaves no done-marker and no
	// version behind, so the same event can be claimed again.
	run("ClaimAloneRecordsNothing", func(t *testing.T, s *storeSuite) {
		st := s.store(t)
		c := s.claim("k1", "e1", 7)
		tok := s.mustAcquire(t, st, c)
		s.release(t, st, c, tok)
		s.mustAcquire(t, st, c)
	})

	// While a lease is live, any other claim on the same (connector, key) is
	// busy and reports, in Expires, a time in the future no later than the
	// end of the lease. Other keys, and the same key of another connector,
	// are independent.
	run("BusyWhileHeld", func(t *testing.T, s *storeSuite) {
		st := s.store(t)
		c := s.claim("k1", "e1", 0)
		c.LeaseTTL = time.Hour
		before := time.Now()
		s.mustAcquire(t, st, c)
		after := time.Now()
		r := s.expect(t, st, s.claim("k1", "e2", 0), idempotency.ClaimBusy, "another event of a held key")
		if r.Expires.IsZero() {
			t.Error("a busy claim reported no Expires: the dispatcher cannot tell when to try again")
		} else if lo, hi := before.Add(time.Hour-time.Second), after.Add(time.Hour+time.Second); r.Expires.Before(lo) || r.Expires.After(hi) {
			t.Errorf("busy Expires = %v, want the end of the 1h lease, between %v and %v", r.Expires, lo, hi)
		}
		s.expect(t, st, s.claim("k1", "e1", 0), idempotency.ClaimBusy, "the holder's own event claimed again")
		s.mustAcquire(t, st, s.claim("k2", "e3", 0))
		other := s.claim("k1", "e2", 0)
		other.Connector = "other"
		s.mustAcquire(t, st, other)
	})

	// Release drops the lease at once: the next claim on the key is acquired
	// without waiting for the TTL.
	run("ReleaseFreesKey", func(t *testing.T, s *storeSuite) {
		st := s.store(t)
		c := s.claim("k1", "e1", 0)
		c.LeaseTTL = time.Hour
		tok := s.mustAcquire(t, st, c)
		s.release(t, st, c, tok)
		tok2 := s.mustAcquire(t, st, s.claim("k1", "e2", 0))
		if tok2 == tok {
			t.Errorf("two leases got the same token %q: a stale holder could drop the new lease", tok)
		}
	})

	// A holder can only drop its own lease. After holder A's lease expired
	// and B took the key, A's late Release and Complete leave B's lease in
	// place (a third claim is busy); A's Complete still records A's event as
	// done, because A's push did happen. A made-up token drops nothing
	// either.
	run("TokenOwnership", func(t *testing.T, s *storeSuite) {
		st := s.store(t)
		a := s.claim("k1", "ea", 0)
		a.LeaseTTL = storeShortTTL
		tokA := s.mustAcquire(t, st, a)
		b := s.claim("k1", "eb", 0)
		b.LeaseTTL = time.Hour
		tokB := s.acquireEventually(t, st, b)
		if tokB == tokA {
			t.Fatalf("the new holder got the expired holder's token %q", tokA)
		}
		s.release(t, st, a, tokA)
		s.expect(t, st, s.claim("k1", "ec", 0), idempotency.ClaimBusy, "after a stale holder's Release")
		s.release(t, st, a, "not-a-token")
		s.expect(t, st, s.claim("k1", "ec", 0), idempotency.ClaimBusy, "after a Release with a made-up token")
		s.complete(t, st, a, tokA)
		s.expect(t, st, s.claim("k1", "ec", 0), idempotency.ClaimBusy, "after a stale holder's Complete")
		s.expect(t, st, a, idempotency.ClaimDone, "the stale holder's event after its Complete")
		s.complete(t, st, b, tokB)
		s.mustAcquire(t, st, s.claim("k1", "ec", 0))
	})

	// Claim decides in a fixed order: an event already done is done even if
	// its version is stale and the key is held; a stale version is stale
	// even if the key is held; only then is a held key busy.
	run("DecisionOrder", func(t *testing.T, s *storeSuite) {
		st := s.store(t)
		c1 := s.claim("k1", "e1", 5)
		s.done(t, st, c1)
		s.hold(t, st, s.claim("k1", "e2", 6))
		s.expect(t, st, c1, idempotency.ClaimDone, "a done event whose version is stale, on a held key")
		s.expect(t, st, s.claim("k1", "e3", 5), idempotency.ClaimStale, "a stale version on a held key")
		s.expect(t, st, s.claim("k1", "e4", 7), idempotency.ClaimBusy, "a newer version on a held key")
	})

	// A version not newer than the last one applied for the key is stale,
	// and the stale result reports that last version when it reports one.
	// Version 0 means unversioned: it is never stale and a Complete with it
	// does not change the key's version. A Complete with a lower version
	// (a lost lease's late push) never lowers it.
	run("Versions", func(t *testing.T, s *storeSuite) {
		st := s.store(t)
		c := s.claim("k1", "e1", 5)
		s.done(t, st, c)
		r := s.expect(t, st, s.claim("k1", "e2", 5), idempotency.ClaimStale, "an equal version")
		if r.Version != 0 && r.Version != 5 {
			t.Errorf("stale claim reported last version %d, want 5", r.Version)
		}
		s.expect(t, st, s.claim("k1", "e3", 4), idempotency.ClaimStale, "an older version")
		s.expect(t, st, s.claim("k1", "e3b", -1), idempotency.ClaimStale, "a negative version")
		// An unversioned claim is never stale.
		s.done(t, st, s.claim("k1", "e4", 0))
		s.complete(t, st, s.claim("k1", "e5", 3), "") // late push of an older version
		s.expect(t, st, s.claim("k1", "e6", 5), idempotency.ClaimStale, "version 5 after Completes with 0 and 3")
		tok := s.mustAcquire(t, st, s.claim("k1", "e7", 6))
		s.release(t, st, s.claim("k1", "e7", 6), tok)
		// Versions are per key: another key starts from nothing.
		s.mustAcquire(t, st, s.claim("k2", "e8", 1))
	})

	// Versions are compared exactly over the whole int64 range, also where
	// a float64 would round (above 2^53): 2^53+1 is newer than 2^53, and
	// nothing is newer than the largest int64.
	run("LargeVersions", func(t *testing.T, s *storeSuite) {
		st := s.store(t)
		const big = int64(1) << 53
		c := s.claim("k1", "e1", big+1)
		s.done(t, st, c)
		s.expect(t, st, s.claim("k1", "e2", big), idempotency.ClaimStale, "version 2^53 after 2^53+1")
		s.expect(t, st, s.claim("k1", "e3", big+1), idempotency.ClaimStale, "version 2^53+1 again")
		c2 := s.claim("k1", "e4", big+2)
		s.done(t, st, c2)
		top := s.claim("k2", "e5", math.MaxInt64)
		s.done(t, st, top)
		s.expect(t, st, s.claim("k2", "e6", math.MaxInt64), idempotency.ClaimStale, "the largest int64 again")
		s.expect(t, st, s.claim("k2", "e7", math.MaxInt64-1), idempotency.ClaimStale, "the largest int64 minus one")
	})

	// Fifty goroutines claim the same key at once, each for its own event:
	// exactly one is acquired, every other one is busy, and none fails.
	run("OneWinnerOf50", func(t *testing.T, s *storeSuite) {
		st := s.store(t)
		const n = 50
		var wg sync.WaitGroup
		results := make([]idempotency.ClaimResult, n)
		errs := make([]error, n)
		start := make(chan struct{})
		for i := range n {
			wg.Go(func() {
				<-start
				c := s.claim("k1", fmt.Sprintf("e%d", i), int64(i+1))
				c.LeaseTTL = time.Hour
				results[i], errs[i] = st.Claim(context.Background(), c)
			})
		}
		close(start)
		wg.Wait()
		won, busy := 0, 0
		for i := range n {
			switch {
			case errs[i] != nil:
				t.Errorf("claim %d failed: %v", i, errs[i])
			case results[i].Status == idempotency.ClaimAcquired:
				won++
			case results[i].Status == idempotency.ClaimBusy:
				busy++
			default:
				t.Errorf("claim %d: status %v, want acquired or busy", i, results[i].Status)
			}
		}
		if won != 1 || busy != n-1 {
			t.Errorf("%d concurrent claims of one key: %d acquired, %d busy; want exactly 1 acquired and %d busy", n, won, busy, n-1)
		}
	})

	// A lease whose holder died (never completed nor released) blocks the
	// key until its TTL has passed: a claim right after it is busy, and a
	// claim is acquired only once the TTL has run out, never earlier.
	run("ExpiredLeaseTaken", func(t *testing.T, s *storeSuite) {
		st := s.store(t)
		dead := s.claim("k1", "e1", 0)
		dead.LeaseTTL = storeShortTTL
		t0 := time.Now()
		s.mustAcquire(t, st, dead)
		next := s.claim("k1", "e2", 0)
		s.expect(t, st, next, idempotency.ClaimBusy, "right after a claim with a 300ms lease")
		deadline := time.Now().Add(storeWait)
		for {
			began := time.Now()
			r, err := st.Claim(context.Background(), next)
			if err != nil {
				t.Fatalf("claim while waiting for the lease to expire: %v", err)
			}
			if r.Status == idempotency.ClaimAcquired {
				// The store's clock (a server's) starts the lease a little
				// after t0 and may see the claim a little after it began:
				// allow 100ms for that, well below the 300ms TTL.
				if early := t0.Add(storeShortTTL - 100*time.Millisecond); began.Before(early) {
					t.Errorf("the lease was taken %v after it began, before its %v TTL ran out", began.Sub(t0), storeShortTTL)
				}
				return
			}
			if r.Status != idempotency.ClaimBusy {
				t.Fatalf("claim while the dead holder's lease runs: status %v, want busy or acquired", r.Status)
			}
			if time.Now().After(deadline) {
				t.Fatalf("a lease with a %v TTL was still busy %v later", storeShortTTL, storeWait)
			}
			time.Sleep(20 * time.Millisecond)
		}
	})

	// What a store records is durable: a second store opened on the same
	// namespace (a restarted process, or another process) sees the first
	// one's done-markers, versions and live leases. A store on another
	// namespace sees none of them.
	run("RestartKeepsState", func(t *testing.T, s *storeSuite) {
		first := s.store(t)
		c := s.claim("k1", "e1", 9)
		s.done(t, first, c)
		s.hold(t, first, s.claim("k2", "e2", 0))

		second := s.open(t, s.ns)
		s.expect(t, second, c, idempotency.ClaimDone, "a done event, on a new store instance")
		s.expect(t, second, s.claim("k1", "e3", 9), idempotency.ClaimStale, "version 9, on a new store instance")
		s.expect(t, second, s.claim("k2", "e4", 0), idempotency.ClaimBusy, "a key held through the first instance")

		other := s.open(t, s.ns+"_x")
		s.mustAcquire(t, other, c)
		s.mustAcquire(t, other, s.claim("k2", "e4", 0))
	})

	// Versions only ever rise, also when many Completes of one key race:
	// after Completes with versions 1..40 in random order, 20 at a time,
	// version 40 is stale and 41 is acquired.
	run("ConcurrentVersionsRise", func(t *testing.T, s *storeSuite) {
		st := s.store(t)
		const n = 40
		order := mrand.Perm(n)
		var wg sync.WaitGroup
		sem := make(chan struct{}, 20)
		errs := make(chan error, n)
		for _, i := range order {
			wg.Go(func() {
				sem <- struct{}{}
				defer func() { <-sem }()
				c := s.claim("k1", fmt.Sprintf("e%d", i), int64(i+1))
				if err := st.Complete(context.Background(), c, ""); err != nil {
					errs <- fmt.Errorf("complete version %d: %w", i+1, err)
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		s.expect(t, st, s.claim("k1", "f1", n), idempotency.ClaimStale, fmt.Sprintf("version %d after concurrent Completes up to %d", n, n))
		s.mustAcquire(t, st, s.claim("k1", "f2", n+1))
	})

	// A done-marker lives for the claim's Retention, then is forgotten: the
	// redelivered event is done right after Complete and is acquired again
	// once the retention has passed.
	run("RetentionExpiry", func(t *testing.T, s *storeSuite) {
		st := s.store(t)
		c := s.claim("k1", "e1", 0)
		c.Retention = storeShortTTL
		s.done(t, st, c)
		s.expect(t, st, c, idempotency.ClaimDone, "right after Complete with a 300ms retention")
		s.acquireEventually(t, st, c)
	})

	// A cancelled context, or one past its deadline, makes Claim, Complete
	// and Release return promptly with an error that is the context's error
	// (errors.Is), and take or record nothing: the key is still free
	// afterwards and the event not done.
	run("ContextCancelled", func(t *testing.T, s *storeSuite) {
		st := s.store(t)
		cancelled, cancel := context.WithCancel(context.Background())
		cancel()
		expired, cancel2 := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
		defer cancel2()
		c := s.claim("k1", "e1", 3)
		for _, tc := range []struct {
			name string
			ctx  context.Context
			want error
		}{{"cancelled", cancelled, context.Canceled}, {"expired", expired, context.DeadlineExceeded}} {
			calls := []struct {
				op string
				f  func() error
			}{
				{"Claim", func() error {
					r, err := st.Claim(tc.ctx, c)
					if err == nil {
						return fmt.Errorf("returned %v and no error", r.Status)
					}
					return err
				}},
				{"Complete", func() error { return st.Complete(tc.ctx, c, "") }},
				{"Release", func() error { return st.Release(tc.ctx, c, "") }},
			}
			for _, call := range calls {
				done := make(chan error, 1)
				go func() { done <- call.f() }()
				select {
				case err := <-done:
					if !errors.Is(err, tc.want) {
						t.Errorf("%s with a %s context: error %v, want one that is %v", call.op, tc.name, err, tc.want)
					}
				case <-time.After(storeWait):
					t.Fatalf("%s with a %s context did not return within %v", call.op, tc.name, storeWait)
				}
			}
		}
		s.mustAcquire(t, st, c) // nothing was taken or recorded
	})

	// Keys, event IDs and connector names are opaque bytes: quotes, SQL and
	// glob wildcards, NUL, 10 KB strings, invalid UTF-8 and near-identical
	// strings are each stored and found exactly, and never confused with one
	// another (nor across the connector/key boundary).
	run("KeysOfAnyBytes", func(t *testing.T, s *storeSuite) {
		st := s.store(t)
		long := strings.Repeat("x", 10<<10)
		keys := []string{
			`it's "quoted"`, "'; DROP TABLE x; --", "a\x00b", "a", "a\x00", "\xff\xfe\xfd",
			"%_*?[]{}\\", "ünïcødé ☃", "line\r\nbreak", long, long + "y", " ", "k:1", "k",
		}
		for i, key := range keys {
			c := s.claim(key, key+"\x00event", int64(i+10))
			s.done(t, st, c)
		}
		for i, key := range keys {
			what := fmt.Sprintf("key #%d (%d bytes)", i, len(key))
			s.expect(t, st, s.claim(key, key+"\x00event", 0), idempotency.ClaimDone, "the event of "+what)
			s.expect(t, st, s.claim(key, "fresh", int64(i+10)), idempotency.ClaimStale, "the recorded version of "+what)
			tok := s.mustAcquire(t, st, s.claim(key, "fresh", int64(i+11)))
			s.release(t, st, s.claim(key, "fresh", int64(i+11)), tok)
		}
		// The connector/key boundary: ("c", "ab") and ("ca", "b") differ.
		ab := s.claim("ab", "x1", 5)
		ab.Connector = "c"
		s.done(t, st, ab)
		cab := s.claim("b", "x1", 5)
		cab.Connector = "ca"
		s.mustAcquire(t, st, cab)
		odd := s.claim("k", "x2", 1)
		odd.Connector = "conn\x00\xff'"
		s.done(t, st, odd)
		s.expect(t, st, odd, idempotency.ClaimDone, "an event of a connector named with odd bytes")
	})

	// A store whose connection broke answers every call with an error, and
	// never with a guess: no ClaimDone or ClaimStale it cannot prove, even
	// for an event it recorded as done before the break.
	run("BrokenConnection", func(t *testing.T, s *storeSuite) {
		st := s.store(t)
		b, ok := st.(BreakableStore)
		if !ok {
			t.Skip("the store does not implement synclayertest.BreakableStore")
		}
		c := s.claim("k1", "e1", 4)
		tok := s.mustAcquire(t, st, c)
		s.complete(t, st, c, tok)
		held := s.claim("k2", "e2", 0)
		tok2 := s.mustAcquire(t, st, held)
		b.BreakConnection(t)
		ctx, cancel := context.WithTimeout(context.Background(), storeWait)
		defer cancel()
		for _, cl := range []idempotency.Claim{c, s.claim("k1", "e3", 2), s.claim("k3", "e4", 0)} {
			r, err := st.Claim(ctx, cl)
			if err == nil {
				t.Errorf("claim (key %q, event %q) on a broken connection: status %v and no error, want an error", cl.Key, cl.EventID, r.Status)
			} else if r.Status == idempotency.ClaimDone || r.Status == idempotency.ClaimStale {
				t.Errorf("claim on a broken connection returned status %v with its error %v", r.Status, err)
			}
		}
		if err := st.Complete(ctx, held, tok2); err == nil {
			t.Error("Complete on a broken connection returned no error")
		}
		if err := st.Release(ctx, held, tok2); err == nil {
			t.Error("Release on a broken connection returned no error")
		}
		if ctx.Err() != nil {
			t.Errorf("calls on a broken connection took more than %v", storeWait)
		}
	})

	// Two dispatchers over two store instances of one namespace, given the
	// same events at once, push each record exactly once.
	run("TwoDispatchers", storeTwoDispatchers)
}

// storeSuite carries one subtest's namespace and opener.
type storeSuite struct {
	open StoreOpener
	ns   string
}

func (s *storeSuite) store(t *testing.T) synclayer.Store {
	t.Helper()
	st := s.open(t, s.ns)
	if st == nil {
		t.Fatal("the StoreOpener returned a nil store")
	}
	return st
}

// claim builds a claim for the suite's default connector with a long lease
// and retention.
func (s *storeSuite) claim(key, event string, version int64) idempotency.Claim {
	return idempotency.Claim{
		Connector: "conn",
		Key:       key,
		EventID:   event,
		Version:   version,
		LeaseTTL:  time.Minute,
		Retention: time.Hour,
	}
}

func (s *storeSuite) expect(t *testing.T, st synclayer.Store, c idempotency.Claim, want idempotency.ClaimStatus, what string) idempotency.ClaimResult {
	t.Helper()
	r, err := st.Claim(context.Background(), c)
	if err != nil {
		t.Fatalf("claim of %s (event %q, version %d): %v", what, storeShort(c.EventID), c.Version, err)
	}
	if r.Status != want {
		t.Fatalf("claim of %s (event %q, version %d): status %v, want %v", what, storeShort(c.EventID), c.Version, r.Status, want)
	}
	return r
}

func (s *storeSuite) mustAcquire(t *testing.T, st synclayer.Store, c idempotency.Claim) string {
	t.Helper()
	r := s.expect(t, st, c, idempotency.ClaimAcquired, fmt.Sprintf("key %q", storeShort(c.Key)))
	if r.Token == "" {
		t.Fatalf("acquired claim of key %q has an empty token", storeShort(c.Key))
	}
	return r.Token
}

// hold acquires c with an hour's lease, which outlasts the subtest.
func (s *storeSuite) hold(t *testing.T, st synclayer.Store, c idempotency.Claim) string {
	t.Helper()
	c.LeaseTTL = time.Hour
	return s.mustAcquire(t, st, c)
}

// done acquires c and completes it.
func (s *storeSuite) done(t *testing.T, st synclayer.Store, c idempotency.Claim) {
	t.Helper()
	s.complete(t, st, c, s.mustAcquire(t, st, c))
}

// acquireEventually claims until acquired, while busy or done, up to the
// suite's deadline.
func (s *storeSuite) acquireEventually(t *testing.T, st synclayer.Store, c idempotency.Claim) string {
	t.Helper()
	deadline := time.Now().Add(storeWait)
	var last idempotency.ClaimStatus
	for time.Now().Before(deadline) {
		r, err := st.Claim(context.Background(), c)
		if err != nil {
			t.Fatalf("claim of key %q: %v", storeShort(c.Key), err)
		}
		if r.Status == idempotency.ClaimAcquired {
			return r.Token
		}
		last = r.Status
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("claim of key %q (event %q) still %v after %v; want acquired once the 300ms lease or retention passed", storeShort(c.Key), storeShort(c.EventID), last, storeWait)
	return ""
}

func (s *storeSuite) complete(t *testing.T, st synclayer.Store, c idempotency.Claim, tok string) {
	t.Helper()
	if err := st.Complete(context.Background(), c, tok); err != nil {
		t.Fatalf("complete of key %q (event %q): %v", storeShort(c.Key), storeShort(c.EventID), err)
	}
}

func (s *storeSuite) release(t *testing.T, st synclayer.Store, c idempotency.Claim, tok string) {
	t.Helper()
	if err := st.Release(context.Background(), c, tok); err != nil {
		t.Fatalf("release of key %q: %v", storeShort(c.Key), err)
	}
}

// storeShort bounds a key for messages.
func storeShort(s string) string {
	const max = 40
	if len(s) <= max {
		return s
	}
	return s[:max] + fmt.Sprintf("...(%d bytes)", len(s))
}

// suiteRunner returns the run function of a conformance suite: run(name,
// f) runs f as a subtest with the suite value that newSuite builds, inside
// the subtest (whose t.Name ends with name), for a namespace of its own:
// prefix, a random part shared by the suite's subtests, and the subtest's
// number.
func suiteRunner[S any](t *testing.T, prefix string, newSuite func(t *testing.T, ns string) S) func(name string, f func(t *testing.T, s S)) {
	base := prefix + randomHex(4)
	n := 0
	return func(name string, f func(t *testing.T, s S)) {
		n++
		ns := fmt.Sprintf("%s_%02d", base, n)
		t.Run(name, func(t *testing.T) {
			f(t, newSuite(t, ns))
		})
	}
}

// randomHex returns n random bytes in hex.
func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b) // never fails (crypto/rand)
	return hex.EncodeToString(b)
}
