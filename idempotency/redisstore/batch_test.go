package redisstore_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hmsplatform/synclayer/idempotency"
	"github.com/hmsplatform/synclayer/idempotency/internal/storetest"
	"github.com/hmsplatform/synclayer/idempotency/redisstore"
	"github.com/hmsplatform/synclayer/internal/testwait"
)

// openStore opens a store over a client of its own, with a faultHook,
// under a prefix unique to the test, removed at its end.
func openStore(t *testing.T) (*redisstore.Store, *faultHook) {
	t.Helper()
	client := newClient(t)
	hook := &faultHook{}
	client.AddHook(hook)
	return openPrefixed(t, client, uniquePrefix(t)), hook
}

func claimOf(key, event string, version int64) idempotency.Claim {
	return idempotency.Claim{Connector: "conn", Key: key, EventID: event, Version: version,
		LeaseTTL: time.Minute, Retention: time.Hour}
}

// waitFor polls cond until it holds, failing the test after 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testwait.For(t, 10*time.Second, func() string { return "waiting for " + what }, cond)
}

func mustClaim(t *testing.T, s *redisstore.Store, c idempotency.Claim, want idempotency.ClaimStatus) idempotency.ClaimResult {
	t.Helper()
	r, err := s.Claim(context.Background(), c)
	if err != nil {
		t.Fatalf("claim of key %s, event %s: %v", c.Key, c.EventID, err)
	}
	if r.Status != want {
		t.Fatalf("claim of key %s, event %s: %v, want %v", c.Key, c.EventID, r.Status, want)
	}
	return r
}

// 64 goroutines deliver 64 events on 8 keys (versions 1 to 8 per key),
// each event twice, all through the batcher at once, each taking the
// lease, renewing it, pushing and completing as the dispatcher does. A key
// never has two live holders; every event is pushed and completed at most
// once, its redelivery is done (pushed) or stale (skipped); the newest
// version of every key is pushed and is the key's version at the end.
func TestConcurrentClaimsOnEightKeys(t *testing.T) {
	s, _ := openStore(t)
	const keys, workers = 8, 64
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()

	var mu sync.Mutex
	holder := map[string]string{} // key -> event whose push runs
	pushed := map[string]int{}    // event -> pushes
	completed := map[string]int{} // event -> Completes
	errs := make(chan error, 4*workers)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range workers {
		wg.Go(func() {
			<-start
			c := claimOf(fmt.Sprintf("k%d", i%keys), fmt.Sprintf("e%d", i), int64(i/keys+1))
			wasPushed := false
			for delivery := range 2 {
				r, err := s.Claim(ctx, c)
				for err == nil && r.Status == idempotency.ClaimBusy {
					time.Sleep(time.Millisecond)
					r, err = s.Claim(ctx, c)
				}
				if err != nil {
					errs <- err
					return
				}
				switch {
				case delivery == 1 && wasPushed && r.Status != idempotency.ClaimDone:
					errs <- fmt.Errorf("redelivery of pushed event %s: %v, want done", c.EventID, r.Status)
				case delivery == 1 && !wasPushed && r.Status != idempotency.ClaimStale:
					errs <- fmt.Errorf("redelivery of skipped event %s: %v, want stale", c.EventID, r.Status)
				case delivery == 0 && r.Status == idempotency.ClaimDone:
					errs <- fmt.Errorf("first delivery of event %s: done before any push", c.EventID)
				case r.Status == idempotency.ClaimAcquired:
					mu.Lock()
					if h := holder[c.Key]; h != "" {
						errs <- fmt.Errorf("event %s acquired key %s while event %s holds it", c.EventID, c.Key, h)
					}
					holder[c.Key] = c.EventID
					pushed[c.EventID]++
					mu.Unlock()
					wasPushed = true
					if ok, err := s.Renew(ctx, c, r.Token); err != nil || !ok {
						errs <- fmt.Errorf("renew of a held lease (event %s): %v, %v; want true", c.EventID, ok, err)
					}
					mu.Lock()
					holder[c.Key] = ""
					mu.Unlock()
					if err := s.Complete(ctx, c, r.Token); err != nil {
						errs <- err
						return
					}
					mu.Lock()
					completed[c.EventID]++
					mu.Unlock()
				}
			}
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for e, n := range pushed {
		if n != 1 || completed[e] != 1 {
			t.Errorf("event %s pushed %d times and completed %d times, want once each", e, n, completed[e])
		}
	}
	for k := range keys {
		newest := fmt.Sprintf("e%d", (keys-1)*keys+k)
		if pushed[newest] != 1 {
			t.Errorf("the newest event %s of key k%d was pushed %d times, want once", newest, k, pushed[newest])
		}
		key := fmt.Sprintf("k%d", k)
		mustClaim(t, s, claimOf(key, "late", keys), idempotency.ClaimStale)
		mustClaim(t, s, claimOf(key, "newer", keys+1), idempotency.ClaimAcquired)
	}
	st := redisstore.Stats(s)
	if st.Queued == 0 || st.Rounds >= st.Ops {
		t.Errorf("64 concurrent callers were never batched: %+v", st)
	}
	t.Logf("%+v: %.1f operations per round trip", st, float64(st.Ops)/float64(st.Rounds))
}

// A round trip that fails (here: its connection reset before it was sent)
// fails the calls it carried, each with an error naming its operation,
// connector and key and wrapping the cause; the call in flight before it
// and the calls after it work, and nothing it carried was recorded.
func TestFailedBatchFailsOnlyItsCalls(t *testing.T) {
	s, hook := openStore(t)
	ctx := t.Context()
	held := make([]idempotency.Claim, 4)
	tokens := make([]string, 4)
	for i := range held {
		held[i] = claimOf(fmt.Sprintf("c%d", i), fmt.Sprintf("ec%d", i), 1)
		tokens[i] = mustClaim(t, s, held[i], idempotency.ClaimAcquired).Token
	}

	waiting, release := hook.holdNext()
	defer release()
	first := goClaim(ctx, s, claimOf("a", "ea", 1), acquired)
	<-waiting

	type call struct {
		op, key string
		err     error
	}
	calls := make([]call, 8)
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			c := claimOf(fmt.Sprintf("b%d", i), fmt.Sprintf("eb%d", i), 1)
			r, err := s.Claim(ctx, c)
			if err == nil {
				err = fmt.Errorf("returned %v and no error", r.Status)
			} else if r.Status != 0 {
				err = fmt.Errorf("returned status %v beside its error %w", r.Status, err)
			}
			calls[i] = call{"claim", c.Key, err}
		})
		wg.Go(func() {
			err := s.Complete(ctx, held[i], tokens[i])
			if err == nil {
				err = errors.New("returned no error")
			}
			calls[4+i] = call{"complete", held[i].Key, err}
		})
	}
	waitFor(t, "8 calls waiting", func() bool { return redisstore.Waiting(s) == 8 })
	reset := &net.OpError{Op: "read", Net: "tcp", Err: errors.New("connection reset by peer")}
	hook.failNext(reset)
	release()
	if err := <-first; err != nil {
		t.Errorf("the claim in flight before the failed round trip: %v", err)
	}
	wg.Wait()
	if n := len(hook.failedCmds()); n != 8 {
		t.Errorf("the failed round trip carried %d commands, want the 8 that gathered", n)
	}
	for _, c := range calls {
		want := fmt.Sprintf("redisstore: %s of connector \"conn\", key %q", c.op, c.key)
		switch {
		case !errors.Is(c.err, reset):
			t.Errorf("%s of key %s: error %v, want one wrapping the connection's", c.op, c.key, c.err)
		case !strings.HasPrefix(c.err.Error(), want):
			t.Errorf("%s of key %s: error %q, want it to begin %q", c.op, c.key, c.err, want)
		case !strings.Contains(c.err.Error(), "round trip of 8 operations"):
			t.Errorf("%s of key %s: error %q does not say it failed in a batch of 8", c.op, c.key, c.err)
		}
	}

	// Nothing of the failed round trip was recorded: the events whose
	// Complete failed are not done (their leases are still held), and the
	// keys of the failed claims are free.
	for i, c := range held {
		mustClaim(t, s, c, idempotency.ClaimBusy)
		if err := s.Complete(ctx, c, tokens[i]); err != nil {
			t.Fatalf("complete after the failed round trip: %v", err)
		}
		mustClaim(t, s, c, idempotency.ClaimDone)
	}
	for i := range 4 {
		mustClaim(t, s, claimOf(fmt.Sprintf("b%d", i), fmt.Sprintf("eb%d", i), 1), idempotency.ClaimAcquired)
	}
}

// A call that finds no round trip in flight is sent at once by its caller,
// alone: it waits for no timer and no other call. A call that arrives
// while one is in flight is not sent before that one returns, and is sent
// as soon as it does, with no further call needed to trigger it.
func TestLoneCallNotDelayed(t *testing.T) {
	s, hook := openStore(t)
	ctx := t.Context()
	for i := range 5 {
		c := claimOf("k", fmt.Sprintf("e%d", i), 0)
		r := mustClaim(t, s, c, idempotency.ClaimAcquired)
		if err := s.Complete(ctx, c, r.Token); err != nil {
			t.Fatal(err)
		}
	}
	if got := hook.roundTrips(); fmt.Sprint(got) != fmt.Sprint([]int{1, 1, 1, 1, 1, 1, 1, 1, 1, 1}) {
		t.Errorf("10 sequential calls went as round trips of %v commands, want 10 of 1", got)
	}
	if st := redisstore.Stats(s); st.Lone != 10 || st.Queued != 0 {
		t.Errorf("10 sequential calls: %+v, want all 10 sent alone by their callers", st)
	}

	first, release := hook.claimHeld(ctx, s, claimOf("x", "ex", 0))
	defer release()
	second := goClaim(ctx, s, claimOf("y", "ey", 0), acquired)
	waitFor(t, "the second call queued", func() bool { return redisstore.Waiting(s) == 1 })
	if n := len(hook.roundTrips()); n != 11 {
		t.Fatalf("%d round trips while one is held, want 11: the second call was sent beside the first", n)
	}
	release()
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if err := <-second; err != nil {
		t.Fatalf("the call queued behind the held one: %v", err)
	}
	if got := hook.roundTrips(); len(got) != 12 || got[11] != 1 {
		t.Errorf("round trips %v, want a 12th with the queued call", got)
	}
	if st := redisstore.Stats(s); st.Lone != 11 || st.Queued != 1 {
		t.Errorf("%+v, want 11 lone calls and 1 queued", st)
	}
}

// Renew extends its own lease, and reports false, changing nothing, for a
// lease it no longer holds (see storetest.Renew). With a cancelled context
// it fails with the context's error, named.
func TestRenew(t *testing.T) {
	s, _ := openStore(t)
	storetest.Renew(t, s, 300*time.Millisecond)

	c := claimOf("k3", "eg", 0)
	r := mustClaim(t, s, c, idempotency.ClaimAcquired)
	cancelled, cancel := context.WithCancel(t.Context())
	cancel()
	if ok, err := s.Renew(cancelled, c, r.Token); !errors.Is(err, context.Canceled) || ok {
		t.Errorf("renew with a cancelled context: %v, %v; want context.Canceled", ok, err)
	} else if !strings.HasPrefix(err.Error(), `redisstore: renew of connector "conn", key "k3"`) {
		t.Errorf("error %q does not name the operation, connector and key", err)
	}
}

// A flushed script cache (NOSCRIPT) costs one more round trip with the
// scripts in full, for a lone call and for a batch alike; no call fails.
func TestNoScriptResent(t *testing.T) {
	s, hook := openStore(t)
	ctx := t.Context()
	hook.failNext(redis.ErrNoScript)
	mustClaim(t, s, claimOf("lone", "e", 0), idempotency.ClaimAcquired)

	first, release := hook.claimHeld(ctx, s, claimOf("a", "ea", 0))
	defer release()
	errs := make(chan error, 8)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			r, err := s.Claim(ctx, claimOf(fmt.Sprintf("b%d", i), "eb", 0))
			if err == nil && r.Status != idempotency.ClaimAcquired {
				err = fmt.Errorf("status %v, want acquired", r.Status)
			}
			errs <- err
		})
	}
	waitFor(t, "8 calls waiting", func() bool { return redisstore.Waiting(s) == 8 })
	hook.failNext(redis.ErrNoScript)
	release()
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("claim in a batch that met NOSCRIPT: %v", err)
		}
	}
	if got := hook.roundTrips(); fmt.Sprint(got) != fmt.Sprint([]int{1, 1, 1, 8, 8}) {
		t.Errorf("round trips %v, want [1 1 1 8 8]: each NOSCRIPT answered by one resend in full", got)
	}
}

// sendQueued waits until one call is queued behind the batch first is
// (held by the hook), lets that batch finish, and returns once the queued
// call's batch is in flight, held until the returned release.
func sendQueued(t *testing.T, s *redisstore.Store, hook *faultHook, first <-chan error, releaseFirst func()) (release func()) {
	t.Helper()
	waitFor(t, "the call queued", func() bool { return redisstore.Waiting(s) == 1 })
	held, release := hook.holdNext()
	releaseFirst()
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	<-held
	return release
}

// waitFreed waits until a claim of key acquires it: no lease is left on
// the key.
func waitFreed(t *testing.T, s *redisstore.Store, key string) {
	t.Helper()
	waitFor(t, "key "+key+" free again", func() bool {
		r, err := s.Claim(t.Context(), claimOf(key, "e-free", 0))
		if err != nil {
			t.Fatal(err)
		}
		return r.Status == idempotency.ClaimAcquired
	})
}

// A caller whose context ends while its call waits for a batch returns at
// once with the context's error. Had the call not been sent yet, it never
// is; had it been sent, a lease it acquired is released, as nobody holds
// its token.
func TestCallerLeavesBatch(t *testing.T) {
	s, hook := openStore(t)
	ctx := t.Context()

	first, releaseA := hook.claimHeld(ctx, s, claimOf("a", "ea", 0))
	defer releaseA()

	// Leaves while queued.
	queuedCtx, cancelQueued := context.WithCancel(ctx)
	left := make(chan error, 1)
	go func() {
		_, err := s.Claim(queuedCtx, claimOf("q", "eq", 0))
		left <- err
	}()
	waitFor(t, "the call queued", func() bool { return redisstore.Waiting(s) == 1 })
	cancelQueued()
	if err := <-left; !errors.Is(err, context.Canceled) || !strings.HasPrefix(err.Error(), `redisstore: claim of connector "conn", key "q"`) {
		t.Errorf("queued claim whose context was cancelled: %v, want a named context.Canceled", err)
	}

	// Leaves while its round trip is in flight.
	sentCtx, cancelSent := context.WithCancel(ctx)
	go func() {
		_, err := s.Claim(sentCtx, claimOf("s", "es", 0))
		left <- err
	}()
	releaseB := sendQueued(t, s, hook, first, releaseA)
	defer releaseB()
	cancelSent()
	if err := <-left; !errors.Is(err, context.Canceled) {
		t.Errorf("claim in flight whose context was cancelled: %v, want context.Canceled", err)
	}
	releaseB()

	// The claim of "s" was acquired in Redis after its caller left: the
	// store releases it (its lease would otherwise block the key for a
	// minute). The claim of "q" never went out.
	waitFreed(t, s, "s")
	if got := hook.roundTrips(); len(got) < 2 || got[1] != 1 {
		t.Errorf("round trips %v: the batch after the first should carry only the claim of \"s\"", got)
	}
}

// A claim whose reply is lost after its script ran in Redis, and took the
// lease, fails for its caller, who so holds no token: the store releases
// the lease. Lone: its caller's context ends once the script has run;
// batched: the pipeline's reply is lost to a read timeout. Either way a
// later claim of the key acquires it (it was busy for the whole LeaseTTL).
func TestClaimFailedAfterSendReleasesLease(t *testing.T) {
	s, hook := openStore(t)
	ctx := t.Context()
	// loseNext makes the next claim reply whose script acquired the lease
	// an error, calling then first.
	loseNext := func(err error, then func()) {
		var armed atomic.Bool
		armed.Store(true)
		hook.setMutate(func(cmd *redis.Cmd) {
			if r, ok := cmd.Val().([]any); ok && len(r) == 2 && r[0] == int64(4) && armed.CompareAndSwap(true, false) {
				then()
				cmd.SetErr(err)
			}
		})
	}
	timeout := &net.OpError{Op: "read", Net: "tcp", Err: os.ErrDeadlineExceeded}

	// Lone, sent with its caller's context, which ends after the script ran.
	loneCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	loseNext(context.Canceled, cancel)
	if _, err := s.Claim(loneCtx, claimOf("lone", "e1", 0)); !errors.Is(err, context.Canceled) {
		t.Fatalf("lone claim whose caller left after the script ran: %v, want context.Canceled", err)
	}
	if st := redisstore.Stats(s); st.Lone != 1 {
		t.Fatalf("stats %+v: the claim should have gone alone", st)
	}
	waitFreed(t, s, "lone")

	// Lone, its reply lost to a read timeout.
	loseNext(timeout, func() {})
	if _, err := s.Claim(ctx, claimOf("timeout", "e1", 0)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("lone claim whose reply timed out: %v, want a timeout", err)
	}
	waitFreed(t, s, "timeout")

	// Batched, its pipeline's reply lost to a read timeout.
	first, releaseA := hook.claimHeld(ctx, s, claimOf("a", "ea", 0))
	defer releaseA()
	batched := goClaim(ctx, s, claimOf("batched", "e1", 0), claimErr)
	releaseB := sendQueued(t, s, hook, first, releaseA)
	defer releaseB()
	loseNext(timeout, func() {})
	releaseB()
	if err := <-batched; !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("batched claim whose reply timed out: %v, want a timeout", err)
	}
	waitFreed(t, s, "batched")
}
