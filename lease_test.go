package synclayer_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/idempotency"
	"github.com/hmsplatform/synclayer/synclayertest"
)

// leaseStore is a minimal Store with renewable leases, standing in for the
// durable stores in tests of the dispatcher's lease rules. It keeps leases
// and versions only; done-markers are not needed here.
type leaseStore struct {
	mu       sync.Mutex
	leases   map[string]lease
	versions map[string]int64
	renews   int
	refuse   bool // Renew says the lease is gone
	next     int
}

type lease struct {
	token   string
	expires time.Time
}

var _ idempotency.LeaseRenewer = (*leaseStore)(nil)

func newLeaseStore() *leaseStore {
	return &leaseStore{leases: map[string]lease{}, versions: map[string]int64{}}
}

func (s *leaseStore) Claim(_ context.Context, c idempotency.Claim) (idempotency.ClaimResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := c.Connector + "/" + c.Key
	if c.Version != 0 && c.Version <= s.versions[k] {
		return idempotency.ClaimResult{Status: idempotency.ClaimStale}, nil
	}
	if l, ok := s.leases[k]; ok && time.Now().Before(l.expires) {
		return idempotency.ClaimResult{Status: idempotency.ClaimBusy, Expires: l.expires}, nil
	}
	s.next++
	l := lease{token: strings.Repeat("t", s.next), expires: time.Now().Add(c.LeaseTTL)}
	s.leases[k] = l
	return idempotency.ClaimResult{Status: idempotency.ClaimAcquired, Token: l.token}, nil
}

func (s *leaseStore) Complete(ctx context.Context, c idempotency.Claim, token string) error {
	s.mu.Lock()
	k := c.Connector + "/" + c.Key
	s.versions[k] = max(s.versions[k], c.Version)
	s.mu.Unlock()
	return s.Release(ctx, c, token)
}

func (s *leaseStore) Release(_ context.Context, c idempotency.Claim, token string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := c.Connector + "/" + c.Key
	if s.leases[k].token == token {
		delete(s.leases, k)
	}
	return nil
}

func (s *leaseStore) Renew(_ context.Context, c idempotency.Claim, token string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.renews++
	k := c.Connector + "/" + c.Key
	l, ok := s.leases[k]
	if s.refuse || !ok || l.token != token || !time.Now().Before(l.expires) {
		return false, nil
	}
	s.leases[k] = lease{token: token, expires: time.Now().Add(c.LeaseTTL)}
	return true, nil
}

func (s *leaseStore) held(key string) (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.leases["p0/"+key]
	return l.expires, ok && time.Now().Before(l.expires)
}

// A lease lives WithLeaseTTL and is renewed every third of it while the
// push runs, however long; it is released the moment the route ends.
func TestLeaseIsRenewedDuringAPushAndReleasedAtItsEnd(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := newLeaseStore()
		reg, fakes := newFakes(t, 1)
		d := synclayertest.NewDispatcher(t, reg, synclayer.WithObserver(synclayer.NoObserver), synclayer.WithStore(store), synclayer.WithLeaseTTL(3*time.Second))
		release := fakes[0].Hold()
		done := goDispatch(d, event("e1", "K", 1))
		synctest.Wait()
		start := time.Now()
		exp, ok := store.held("K")
		if !ok || exp.Sub(start) != 3*time.Second {
			t.Fatalf("lease = %v (held %v), want 3s from now", exp.Sub(start), ok)
		}
		time.Sleep(20 * time.Second) // far past the TTL
		synctest.Wait()
		if _, ok := store.held("K"); !ok {
			t.Fatal("the lease of a running push expired")
		}
		if store.renews < 6 {
			t.Fatalf("%d renewals in 20s with a 3s TTL, want one per second", store.renews)
		}
		release()
		rep := <-done
		if rep.Results[0].Status != synclayer.StatusSynced {
			t.Fatalf("result = %+v", rep.Results[0])
		}
		if _, ok := store.held("K"); ok {
			t.Fatal("the lease outlived the route")
		}
		renews := store.renews
		time.Sleep(time.Minute)
		synctest.Wait()
		if store.renews != renews {
			t.Fatal("renewals went on after the route ended")
		}
	})
}

// A push whose lease cannot be kept is cancelled and left for a
// redelivery: another process may hold the key by now.
func TestLostLeaseCancelsThePush(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := newLeaseStore()
		reg, fakes := newFakes(t, 1)
		d := synclayertest.NewDispatcher(t, reg, synclayer.WithObserver(synclayer.NoObserver), synclayer.WithStore(store), synclayer.WithLeaseTTL(3*time.Second))
		defer fakes[0].Hold()()
		store.mu.Lock()
		store.refuse = true
		store.mu.Unlock()
		rep, err := d.Dispatch(context.Background(), event("e1", "K", 1))
		r := rep.Results[0]
		if r.Status != synclayer.StatusFailed || synclayer.IsPermanent(err) || !errors.Is(err, synclayer.ErrStore) ||
			!strings.Contains(err.Error(), "lease on the key was lost") {
			t.Fatalf("result %v, err %v; want a retryable ErrStore naming the lost lease", r.Status, err)
		}
	})
}

// Run does not let a key leased by another process hold a handler slot: it
// waits a quarter of a second at most, then asks the bus to redeliver the
// event soon, not counted as a failure. Dispatch, with no bus to hand the
// event back to, waits for the lease.
func TestBusyKeyIsHandedBackToTheBus(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := newLeaseStore()
		reg, fakes := newFakes(t, 1)
		other := synclayertest.NewDispatcher(t, reg, synclayer.WithObserver(synclayer.NoObserver), synclayer.WithStore(store)) // "another process"
		release := fakes[0].Hold()
		go func() { _, _ = other.Dispatch(context.Background(), event("e1", "K", 1)) }()
		synctest.Wait()

		reg2, fakes2 := newFakes(t, 1)
		d := synclayertest.NewDispatcher(t, reg2, synclayer.WithObserver(synclayer.NoObserver), synclayer.WithStore(store))
		h, stop := runHandler(t, d)
		defer stop()
		start := time.Now()
		err := h(context.Background(), event("e2", "K", 2))
		waited := time.Since(start)
		after, ok := synclayer.RedeliverAfter(err)
		if !ok || !strings.Contains(err.Error(), "record key busy in another process") || synclayer.IsPermanent(err) {
			t.Fatalf("handler = %v, want a redelivery request for a busy key", err)
		}
		if waited > time.Second || after > 2*time.Second || after <= 0 {
			t.Fatalf("handler held its slot %v and asks for a redelivery in %v; want both short", waited, after)
		}
		// Unrelated keys go through at once meanwhile.
		if err := h(context.Background(), event("e3", "OTHER", 1)); err != nil {
			t.Fatal(err)
		}
		if _, ok := fakes2[0].Record("OTHER"); !ok {
			t.Fatal("an unrelated key waited behind the busy one")
		}
		// Direct Dispatch waits for the other holder instead.
		got := make(chan synclayer.Status, 1)
		go func() { rep, _ := d.Dispatch(context.Background(), event("e4", "K", 3)); got <- rep.Results[0].Status }()
		synctest.Wait()
		release()
		if s := <-got; s != synclayer.StatusSynced {
			t.Fatalf("Dispatch after the holder finished: %v", s)
		}
	})
}

// A key leased by another process (a claim on the shared store that this
// dispatcher did not make) is not pushed while the lease lives. When the
// other process finishes, the dispatch goes on and sees what it did; when
// the other process died, the dispatch pushes once the lease has expired,
// not before.
//
// Dispatch waits for such a key; Run may hand the event back to the bus
// instead (a busy key).
func TestDispatchWaitsForAnotherProcessLease(t *testing.T) {
	const ttl = time.Minute
	setup := func(t *testing.T) (*synclayer.MemoryStore, *synclayertest.Fake, *synclayer.Dispatcher) {
		store := new(synclayer.MemoryStore)
		fake := synclayertest.NewFake()
		reg := new(synclayer.Registry)
		must(t, reg.Register("p", fake, synclayer.Route("WorkflowDeployed", keyMapper)))
		return store, fake, synclayertest.NewDispatcher(t, reg, synclayer.WithObserver(synclayer.NoObserver), synclayer.WithStore(store))
	}
	other := idempotency.Claim{Connector: "p", Key: "K", EventID: "other-v2", Version: 2, LeaseTTL: ttl, Retention: time.Hour}

	t.Run("other finishes", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			store, fake, d := setup(t)
			cr := mustClaim(t, store, other, idempotency.ClaimAcquired)
			expires := time.Now().Add(ttl)
			done := make(chan synclayer.Report, 1)
			go func() {
				rep, _ := d.Dispatch(t.Context(), event("e1", "K", 1))
				done <- rep
			}()
			time.Sleep(ttl / 2)
			synctest.Wait()
			if n := fake.CallCount(); n != 0 {
				t.Fatalf("%d pushes while another process held the key", n)
			}
			must(t, store.Complete(t.Context(), other, cr.Token)) // it pushed v2
			rep := <-done
			if !time.Now().Before(expires) {
				t.Fatalf("the dispatch went on at %v, when the finished lease would have expired; want soon after the other process finished", time.Now())
			}
			if s := rep.Results[0].Status; s != synclayer.StatusStale || fake.CallCount() != 0 {
				t.Fatalf("after the other process pushed v2: %v with %d pushes; want stale, no push", s, fake.CallCount())
			}
		})
	})
	t.Run("other died", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			store, fake, d := setup(t)
			mustClaim(t, store, other, idempotency.ClaimAcquired) // never completed nor released
			start := time.Now()
			rep, err := d.Dispatch(t.Context(), event("e3", "K", 3))
			if err != nil || rep.Results[0].Status != synclayer.StatusSynced {
				t.Fatalf("%v, %v; want synced once the lease expired", rep.Results[0].Status, err)
			}
			// The busy claim says when the lease ends; the dispatch goes then.
			if waited := time.Since(start); waited != ttl {
				t.Fatalf("pushed after %v, want when the lease of %v expired", waited, ttl)
			}
			if calls := fake.Calls(); len(calls) != 1 || calls[0].Version != 3 {
				t.Fatalf("calls %+v, want one push of v3", calls)
			}
		})
	})
}

// Under Run, a key leased by another process is waited for briefly before
// the event is handed back to the bus: a lease that ends within that wait
// (a quarter of a second) costs no redelivery, the route takes the key and
// pushes.
func TestBusyKeyFreedWithinTheBriefWaitIsTaken(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		mem, _, fakes, h := runningOverMemory(t)
		ctx := context.Background()
		leasedElsewhere(t, mem, idempotency.Claim{Connector: "p0", Key: "K", EventID: "other", LeaseTTL: 100 * time.Millisecond})
		if err := h(ctx, event("e1", "K", 1)); err != nil {
			t.Fatalf("handler = %v; want the key taken once the other lease ended", err)
		}
		if n := fakes[0].Writes("K"); n != 1 {
			t.Fatalf("%d pushes, want 1", n)
		}
	})
}

// hangingRenewStore is a leaseStore whose Renew hangs until its ctx ends
// while hang is set (a store that stopped answering).
type hangingRenewStore struct {
	*leaseStore
	hang atomic.Bool
}

func (s *hangingRenewStore) Renew(ctx context.Context, c idempotency.Claim, token string) (bool, error) {
	if s.hang.Load() {
		<-ctx.Done()
		return false, ctx.Err()
	}
	return s.leaseStore.Renew(ctx, c, token)
}

// When the store stops answering Renew, the heartbeat cancels the push
// before the lease can end in the store, so another process that claims
// the key once it has ended never finds this push still in Sync.
func TestHeartbeatCancelsBeforeTheLeaseEnds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := &hangingRenewStore{leaseStore: newLeaseStore()}
		b, fake, release, aDone := pushingA(t, store)
		defer release()
		time.Sleep(1500 * time.Millisecond) // one renewal, at 1s, went through
		store.hang.Store(true)
		bDone := goDispatch(b, event("e2", "K", 2))
		wantLeaseLostThenB(t, aDone, bDone, release, fake)
	})
}

// panicObserver panics in its first ObserveAttempt.
type panicObserver struct{ once sync.Once }

func (o *panicObserver) ObserveAttempt(context.Context, synclayer.Attempt) {
	o.once.Do(func() { panic("observer bug") })
}
func (o *panicObserver) ObserveResult(context.Context, synclayer.Event, synclayer.Result) {}

// A panic in the Observer during a push ends the lease's renewals and gives
// the key back on its way out (the bus adapters recover handler panics, so
// the process lives on): the key is not left leased for ever.
func TestObserverPanicReleasesTheLease(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := newLeaseStore()
		reg, _ := newFakes(t, 1)
		d := synclayertest.NewDispatcher(t, reg, synclayer.WithObserver(&panicObserver{}), synclayer.WithStore(store), synclayer.WithLeaseTTL(3*time.Second))
		func() {
			defer func() {
				if p := recover(); p != "observer bug" {
					t.Errorf("recovered %v, want the observer's panic", p)
				}
			}()
			_, _ = d.Dispatch(context.Background(), event("e1", "K", 1))
		}()
		if _, held := store.held("K"); held || d.Status()[0].InFlight != 0 {
			t.Fatalf("after the panic: lease held %v, in flight %d; want released, 0", held, d.Status()[0].InFlight)
		}
		time.Sleep(time.Hour)
		synctest.Wait()
		if store.renews != 0 {
			t.Fatalf("%d renewals of a lease whose route ended an hour ago", store.renews)
		}
	})
}

// failThenHangStore is a leaseStore whose second renewal fails after a
// tenth of a second (a connection reset) and whose later renewals hang
// until their ctx ends (the store stopped answering).
type failThenHangStore struct {
	*leaseStore
	n atomic.Int32
}

func (s *failThenHangStore) Renew(ctx context.Context, c idempotency.Claim, token string) (bool, error) {
	switch s.n.Add(1) {
	case 1:
		return s.leaseStore.Renew(ctx, c, token)
	case 2:
		time.Sleep(100 * time.Millisecond)
		return false, errors.New("connection reset")
	}
	<-ctx.Done()
	return false, ctx.Err()
}

// A renewal that fails quickly is tried again only if that try, with its
// whole timeout, ends before the lease could: a try that then hangs must
// not keep the push running past the lease, into another process's push
// of the same key.
func TestHeartbeatQuickFailThenHangEndsThePushInTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := &failThenHangStore{leaseStore: newLeaseStore()}
		b, fake, release, aDone := pushingA(t, store)
		defer release()
		time.Sleep(1500 * time.Millisecond) // renewed at 1s; the renewal at 2s fails at 2.1s
		bDone := goDispatch(b, event("e2", "K", 2))
		wantLeaseLostThenB(t, aDone, bDone, release, fake)
	})
}

// A renewal that never returns, even when its ctx ends (a store client
// that ignores it), still cannot keep the push running past the lease:
// the heartbeat's watchdog cancels the push before the lease could end.
func TestHeartbeatWatchdogOutlastsARenewalThatIgnoresItsContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := &deafRenewStore{leaseStore: newLeaseStore(), unblock: make(chan struct{})}
		defer close(store.unblock)
		b, fake, release, aDone := pushingA(t, store)
		defer release()
		bDone := goDispatch(b, event("e2", "K", 2))
		wantLeaseLostThenB(t, aDone, bDone, release, fake)
	})
}

// deafRenewStore is a leaseStore whose Renew does not return, whatever
// its ctx, until unblock is closed.
type deafRenewStore struct {
	*leaseStore
	unblock chan struct{}
}

func (s *deafRenewStore) Renew(context.Context, idempotency.Claim, string) (bool, error) {
	<-s.unblock
	return false, errors.New("store gone")
}

// slowProgressLog is a MemoryLog whose Put of an in-progress entry takes
// five seconds (a slow database).
type slowProgressLog struct{ *synclayer.MemoryLog }

func (l slowProgressLog) Put(ctx context.Context, d synclayer.Delivery) error {
	if d.State == synclayer.StatusInProgress {
		time.Sleep(5 * time.Second)
	}
	return l.MemoryLog.Put(ctx, d)
}

// The lease is renewed from the claim on: a delivery log write before the
// push that takes longer than the lease does not let another process take
// the key and push a newer version that the first then overwrites.
func TestSlowLogWriteBeforeThePushKeepsTheLease(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := newLeaseStore()
		fake := synclayertest.NewFake()
		a, b := leaseProcess(t, store, fake, synclayer.WithDeliveryLog(slowProgressLog{new(synclayer.MemoryLog)})), leaseProcess(t, store, fake)
		aDone := goDispatch(a, event("e1", "K", 1))
		time.Sleep(3500 * time.Millisecond) // A claimed at 0 and is writing its log entry
		bRep, err := b.Dispatch(context.Background(), event("e2", "K", 2))
		if err != nil || bRep.Results[0].Status != synclayer.StatusSynced {
			t.Fatalf("B = %v, %v; want synced", statuses(bRep), err)
		}
		aRep := <-aDone
		if got, ok := fake.Record("K"); !ok || got.Version != 2 {
			t.Fatalf("the partner holds %+v after A = %v and B = %v; want v2, B's newer record", got, statuses(aRep), statuses(bRep))
		}
	})
}

// slowCompleteStore is a leaseStore whose Complete takes five seconds.
type slowCompleteStore struct{ *leaseStore }

func (s slowCompleteStore) Complete(ctx context.Context, c idempotency.Claim, token string) error {
	time.Sleep(5 * time.Second)
	return s.leaseStore.Complete(ctx, c, token)
}

// The lease is renewed until the claim is settled: a Complete slower than
// the lease has left does not let another process claim the key before
// the push is recorded, and push the same event again.
func TestSlowCompleteKeepsTheLease(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := slowCompleteStore{newLeaseStore()}
		fake := synclayertest.NewFake()
		a, b := leaseProcess(t, store, fake), leaseProcess(t, store, fake)
		aDone := goDispatch(a, event("e1", "K", 1))
		time.Sleep(3500 * time.Millisecond) // A pushed at 0 and is completing
		// The same event, redelivered to B.
		bRep, err := b.Dispatch(context.Background(), event("e1", "K", 1))
		if err != nil {
			t.Fatal(err)
		}
		wantStatuses(t, "A", <-aDone, "p0:synced")
		if n := fake.Writes("K"); n != 1 || bRep.Results[0].Status != synclayer.StatusStale {
			t.Fatalf("B = %v with %d writes of K; want stale, the one push of A", statuses(bRep), n)
		}
	})
}

// quickFailStore is a leaseStore whose second renewal fails at once (a
// connection reset); the others go through.
type quickFailStore struct {
	*leaseStore
	n atomic.Int32
}

func (s *quickFailStore) Renew(ctx context.Context, c idempotency.Claim, token string) (bool, error) {
	if s.n.Add(1) == 2 {
		return false, errors.New("connection reset")
	}
	return s.leaseStore.Renew(ctx, c, token)
}

// One renewal that fails at once is survived: it is tried again soon
// enough for that try to be confirmed before the lease could end, and the
// push goes on.
func TestHeartbeatSurvivesOneQuickFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := &quickFailStore{leaseStore: newLeaseStore()}
		reg, fakes := newFakes(t, 1)
		d := synclayertest.NewDispatcher(t, reg, synclayer.WithObserver(synclayer.NoObserver), synclayer.WithStore(store), synclayer.WithLeaseTTL(3*time.Second))
		release := fakes[0].Hold()
		done := goDispatch(d, event("e1", "K", 1))
		time.Sleep(10 * time.Second)
		release()
		wantStatuses(t, "after a failed renewal", <-done, "p0:synced")
		if n := store.n.Load(); n < 9 {
			t.Fatalf("%d renewals in 10s with a 3s TTL, want the renewals to go on after the failed one", n)
		}
	})
}

// leaseProcess is one of several processes sharing store and fake's
// partner, for the lease tests: one try per push, and leases of 3s.
func leaseProcess(t *testing.T, store synclayer.Store, fake *synclayertest.Fake, opts ...synclayer.Option) *synclayer.Dispatcher {
	t.Helper()
	reg := new(synclayer.Registry)
	must(t, reg.Register("p0", fake, synclayer.Route("WorkflowDeployed", keyMapper), synclayer.WithRetry(synclayer.RetryPolicy{MaxAttempts: 1})))
	return synclayertest.NewDispatcher(t, reg, append(opts, synclayer.WithObserver(synclayer.NoObserver), synclayer.WithStore(store), synclayer.WithLeaseTTL(3*time.Second))...)
}

// wantLeaseLostThenB checks the end of a lease test: process A's push
// failed with its lease lost, and once the partner is let go (release),
// B's push of the key synced, the two never in Sync at once.
func wantLeaseLostThenB(t *testing.T, aDone, bDone <-chan synclayer.Report, release func(), fake *synclayertest.Fake) {
	t.Helper()
	aRep := <-aDone
	if r := aRep.Results[0]; r.Status != synclayer.StatusFailed || !errors.Is(r.Err, synclayer.ErrStore) || !strings.Contains(r.Err.Error(), "lease on the key was lost") {
		t.Fatalf("A = %v (%v); want Failed with ErrStore: the lease was lost", r.Status, r.Err)
	}
	release()
	if bRep := <-bDone; bRep.Results[0].Status != synclayer.StatusSynced {
		t.Fatalf("B = %v, want synced", statuses(bRep))
	}
	if n := fake.Overlaps(); n != 0 {
		t.Fatalf("two processes were in Sync on key K at once (%d overlaps)", n)
	}
}

// pushingA starts two processes sharing store, A and B, and A's push of
// event e1 of key K, held at the partner (fake) until release: it returns
// B, the partner, its release, and where A's report comes.
func pushingA(t *testing.T, store synclayer.Store) (b *synclayer.Dispatcher, fake *synclayertest.Fake, release func(), aDone <-chan synclayer.Report) {
	t.Helper()
	fake = synclayertest.NewFake()
	a := leaseProcess(t, store, fake)
	b = leaseProcess(t, store, fake)
	release = fake.Hold()
	aDone = goDispatch(a, event("e1", "K", 1))
	synctest.Wait()
	return b, fake, release, aDone
}
