package synclayer_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/idempotency"
	"github.com/hmsplatform/synclayer/synclayertest"
)

// Drains of held routes: what Resume, the breaker's changes and routes held
// at the same moment do together. Every held route must end pushed, with
// nothing left pending once the connector is let go.

// callGate holds up the first call that reaches it: it closes reached, then
// waits until open is closed. Later calls pass.
type callGate struct {
	reached, open chan struct{}
	once          sync.Once
}

func newCallGate() *callGate {
	return &callGate{reached: make(chan struct{}), open: make(chan struct{})}
}

func (g *callGate) pass() {
	if g == nil {
		return
	}
	g.once.Do(func() {
		close(g.reached)
		<-g.open
	})
}

// gatedLog is a durable MemoryLog whose first Put of a pending entry of
// event gateEvent waits at put, and whose first List of a connector's
// pending entries by a drain waits at list (a slow durable log, say); a
// nil gate holds nothing up. A route's look for pending entries (one
// entry at most) passes.
type gatedLog struct {
	durableLog
	gateEvent string
	put, list *callGate
}

func (l *gatedLog) Put(ctx context.Context, d synclayer.Delivery) error {
	if d.EventID == l.gateEvent && d.State == synclayer.StatusPending {
		l.put.pass()
	}
	return l.durableLog.Put(ctx, d)
}

func (l *gatedLog) List(ctx context.Context, f synclayer.DeliveryFilter) ([]synclayer.Delivery, error) {
	if f.Limit > 1 && len(f.States) == 1 && f.States[0] == synclayer.StatusPending {
		l.list.pass()
	}
	return l.durableLog.List(ctx, f)
}

func pendingOf(t *testing.T, d *synclayer.Dispatcher) []synclayer.Delivery {
	got, err := d.Deliveries(context.Background(), synclayer.DeliveryFilter{States: []synclayer.Status{synclayer.StatusPending}})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// A route that found the connector paused and is still writing its pending
// entry when Resume drains is pushed all the same: hold sees that a drain
// took its turn since it looked, and drains again.
func TestHoldWrittenDuringResumeIsPushed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		log := &gatedLog{durableLog: durableLog{new(synclayer.MemoryLog)}, gateEvent: "e1", put: newCallGate()}
		reg, fakes := newFakes(t, 1)
		d := synclayertest.NewDispatcher(t, reg, synclayer.WithObserver(synclayer.NoObserver), synclayer.WithDeliveryLog(log))
		must(t, d.Pause("p0"))
		done := goDispatch(d, event("e1", "K", 1))
		<-log.put.reached // the route passed the hold check and is writing its entry
		if res, err := d.Resume(context.Background(), "p0"); err != nil || len(res) != 0 {
			t.Fatalf("Resume = %d results, %v; want none yet (the entry is not written), no error", len(res), err)
		}
		close(log.put.open)
		if rep := <-done; rep.Results[0].Status != synclayer.StatusPending {
			t.Fatalf("dispatch: %v, want pending", statuses(rep))
		}
		synctest.Wait()
		if p := pendingOf(t, d); len(p) != 0 || fakes[0].CallCount() != 1 {
			t.Fatalf("after Resume (connector not paused): %d entries pending, partner called %d times; want 0 pending, 1 call", len(p), fakes[0].CallCount())
		}
	})
}

// A route refused by the half-open breaker (the probe is out) whose pending
// entry is written after the probe's success closed the breaker and the
// closing drain listed, is pushed by the drain its hold starts.
func TestHoldWrittenAfterTheBreakerClosedIsPushed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		log := &gatedLog{durableLog: durableLog{new(synclayer.MemoryLog)}, gateEvent: "r", put: newCallGate()}
		fake := synclayertest.NewFake()
		d := breakerOnLog(t, fake, log)
		fake.Inject(synclayertest.Fault{Err: errors.New("503")})
		_, _ = d.Dispatch(context.Background(), event("f", "F", 0))
		time.Sleep(11 * time.Second) // half-open; the reopening drain found nothing
		synctest.Wait()
		release := fake.Hold()
		lDone := make(chan struct{})
		go func() { _, _ = d.Dispatch(context.Background(), event("l", "L", 0)); close(lDone) }()
		synctest.Wait() // l is the probe, in Sync
		rDone := goDispatch(d, event("r", "R", 0))
		<-log.put.reached // r was refused by the breaker and is writing its pending entry
		release()
		<-lDone
		synctest.Wait() // the closing drain ran, and found nothing
		if st := d.Status()[0]; st.Breaker != synclayer.BreakerClosed {
			t.Fatalf("breaker %v, want closed", st.Breaker)
		}
		close(log.put.open)
		if rep := <-rDone; rep.Results[0].Status != synclayer.StatusPending {
			t.Fatalf("r: %v, want pending", statuses(rep))
		}
		synctest.Wait()
		if _, ok := fake.Record("R"); !ok || len(pendingOf(t, d)) != 0 {
			t.Fatalf("breaker closed: partner has R: %v, %d entries pending; want R pushed, none pending", ok, len(pendingOf(t, d)))
		}
	})
}

// A live event that takes the half-open probe and is then cancelled gives
// the slot back and drains: the routes that the reopening drain held again
// while the probe was out are pushed.
func TestCancelledProbeDrains(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		log := &gatedLog{durableLog: durableLog{new(synclayer.MemoryLog)}, list: newCallGate()}
		fake := synclayertest.NewFake()
		d := breakerOnLog(t, fake, log)
		fake.Inject(synclayertest.Fault{Err: errors.New("503")})
		_, _ = d.Dispatch(context.Background(), event("f", "F", 0))
		if rep, _ := d.Dispatch(context.Background(), event("p", "P", 0)); rep.Results[0].Status != synclayer.StatusPending {
			t.Fatalf("p: %v, want pending (breaker open)", statuses(rep))
		}
		time.Sleep(10 * time.Second)
		<-log.list.reached // the reopening drain is listing (a slow log)
		release := fake.Hold()
		ctx, cancel := context.WithCancel(context.Background())
		lDone := make(chan struct{})
		go func() { _, _ = d.Dispatch(ctx, event("l", "L", 0)); close(lDone) }()
		synctest.Wait() // l took the probe
		close(log.list.open)
		synctest.Wait() // the drain held p again (the probe slot was taken) and ended
		cancel()
		<-lDone
		release()
		synctest.Wait()
		if _, ok := fake.Record("P"); !ok || len(pendingOf(t, d)) != 0 {
			t.Fatalf("probe cancelled: partner has P: %v, %d entries pending, breaker %v; want P pushed, none pending",
				ok, len(pendingOf(t, d)), d.Status()[0].Breaker)
		}
	})
}

// breakerOnLog is a dispatcher with log as its delivery log and one
// connector, fake, whose breaker opens after one failure and probes after
// 10s, with one attempt per route.
func breakerOnLog(t *testing.T, fake *synclayertest.Fake, log synclayer.DeliveryLog) *synclayer.Dispatcher {
	t.Helper()
	reg := new(synclayer.Registry)
	must(t, reg.Register("p0", fake, synclayer.Route("WorkflowDeployed", keyMapper),
		synclayer.WithRetry(synclayer.RetryPolicy{MaxAttempts: 1}),
		synclayer.WithBreaker(synclayer.BreakerPolicy{Window: time.Minute, MinRequests: 1, FailureRate: 0.5, OpenFor: 10 * time.Second})))
	return synclayertest.NewDispatcher(t, reg, synclayer.WithObserver(synclayer.NoObserver), synclayer.WithDeliveryLog(log))
}

// claimFailStore fails every Claim while failing is set, and counts them.
type claimFailStore struct {
	*synclayer.MemoryStore
	failing atomic.Bool
	claims  atomic.Int64
}

func (s *claimFailStore) Claim(ctx context.Context, c idempotency.Claim) (idempotency.ClaimResult, error) {
	s.claims.Add(1)
	if s.failing.Load() {
		return idempotency.ClaimResult{}, errors.New("store down")
	}
	return s.MemoryStore.Claim(ctx, c)
}

// A drain whose claims fail moves nothing on: Resume returns after one
// pass with the failure in its results, and the entry stays pending for a
// later drain, instead of listing again at once until ctx ends.
func TestDrainStopsWhenTheStoreFails(t *testing.T) {
	store := &claimFailStore{MemoryStore: new(synclayer.MemoryStore)}
	reg, _ := newFakes(t, 1)
	d := synclayertest.NewDispatcher(t, reg, synclayer.WithObserver(synclayer.NoObserver), synclayer.WithStore(store))
	must(t, d.Pause("p0"))
	if rep, _ := d.Dispatch(context.Background(), event("e1", "K", 1)); rep.Results[0].Status != synclayer.StatusPending {
		t.Fatalf("e1: %v, want pending", statuses(rep))
	}
	store.failing.Store(true)
	res, err := d.Resume(context.Background(), "p0")
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 1 || res[0].Status != synclayer.StatusFailed || !errors.Is(res[0].Err, synclayer.ErrStore) || store.claims.Load() != 1 {
		t.Fatalf("Resume with the store down = %v after %d claims; want one Failed result with ErrStore, after one claim", res, store.claims.Load())
	}
	if p := pendingOf(t, d); len(p) != 1 {
		t.Fatalf("%d entries pending, want the one that could not be claimed", len(p))
	}
	store.failing.Store(false)
	if res, err := d.Resume(context.Background(), "p0"); err != nil || len(res) != 1 || res[0].Status != synclayer.StatusSynced {
		t.Fatalf("Resume with the store back = %v, %v; want one synced", res, err)
	}
}

// Past one List of pending entries (10,000), a drain still pushes one key's
// events in arrival order: an older event of a key beyond the cut is not
// pushed after a newer one (unversioned, the last push is what the partner
// keeps).
func TestDrainKeepsKeyOrderPastTheListLimit(t *testing.T) {
	reg, fakes := newFakes(t, 1)
	d := synclayertest.NewDispatcher(t, reg, synclayer.WithObserver(synclayer.NoObserver))
	must(t, d.Pause("p0"))
	ctx := context.Background()
	dispatch := func(id, key string) {
		if rep, _ := d.Dispatch(ctx, event(id, key, 0)); rep.Results[0].Status != synclayer.StatusPending {
			t.Fatalf("%s: %v, want pending", id, statuses(rep))
		}
	}
	dispatch("old", "K")
	for i := range 9_999 {
		dispatch(fmt.Sprint("x", i), fmt.Sprint("X", i))
	}
	dispatch("new", "K")
	res, err := d.Resume(ctx, "p0")
	if err != nil || len(res) != 10_001 {
		t.Fatalf("Resume = %d results, %v; want 10001, no error", len(res), err)
	}
	var order []string
	for _, c := range fakes[0].Calls() {
		if c.Key == "K" {
			order = append(order, c.EventID)
		}
	}
	if len(order) != 2 || order[0] != "old" || order[1] != "new" {
		t.Fatalf("pushes of K in order %v; want [old new]", order)
	}
}

// One key with more pending entries than a list holds: its older entries
// lie beyond the cut, and come in the next pass after its newer ones were
// pushed. They are superseded (Stale), not pushed: an unversioned older
// record pushed last would leave the partner with it.
func TestDrainNeverPushesAnOlderEntryAfterANewerOne(t *testing.T) {
	reg, fakes := newFakes(t, 1)
	d := synclayertest.NewDispatcher(t, reg, synclayer.WithObserver(synclayer.NoObserver))
	must(t, d.Pause("p0"))
	ctx := context.Background()
	const n = 10_003
	for i := range n {
		if rep, _ := d.Dispatch(ctx, event(fmt.Sprint("e", i), "K", 0)); rep.Results[0].Status != synclayer.StatusPending {
			t.Fatalf("e%d: %v, want pending", i, statuses(rep))
		}
	}
	res, err := d.Resume(ctx, "p0")
	if err != nil || len(res) != n {
		t.Fatalf("Resume = %d results, %v; want %d, no error", len(res), err, n)
	}
	stale := 0
	for _, r := range res {
		if r.Status == synclayer.StatusStale {
			stale++
		}
	}
	calls := fakes[0].Calls()
	if last := calls[len(calls)-1].EventID; last != fmt.Sprint("e", n-1) || stale != n-len(calls) {
		t.Fatalf("last push of K was %s after %d pushes, %d results stale; want the newest event, e%d, last, and every event not pushed stale", last, len(calls), stale, n-1)
	}
	pending, err := d.Deliveries(ctx, synclayer.DeliveryFilter{States: []synclayer.Status{synclayer.StatusPending}})
	if err != nil || len(pending) != 0 {
		t.Fatalf("%d entries still pending (%v), want none", len(pending), err)
	}
}
