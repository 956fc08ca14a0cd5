package synclayer_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/idempotency"
	"github.com/hmsplatform/synclayer/synclayertest"
)

// leaselessStore is a Store whose leases never make a claim wait: a claim
// the inner store finds busy is granted anyway. Done-markers and versions
// still work, so Duplicate and Stale are decided as usual, but the store no
// longer keeps two pushes of one key apart. Under it, only the dispatcher's
// own per-key serialisation inside the process does.
type leaselessStore struct {
	synclayer.Store
	busy atomic.Int64 // claims the inner store found busy, granted anyway
}

func (s *leaselessStore) Claim(ctx context.Context, c idempotency.Claim) (idempotency.ClaimResult, error) {
	cr, err := s.Store.Claim(ctx, c)
	if err == nil && cr.Status == idempotency.ClaimBusy {
		s.busy.Add(1)
		// A token the inner store never issued: Complete still records the
		// done-marker and the version, and drops no one's lease.
		return idempotency.ClaimResult{Status: idempotency.ClaimAcquired, Token: "leaseless", Version: cr.Version}, nil
	}
	return cr, err
}

// One process never pushes one key twice at once, even when the store's
// lease would let it, and pushes of one key run in the order they arrived.
// Pushes of other keys are not held up.
func TestDispatchSerialisesOneKeyInProcess(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fake := synclayertest.NewFake()
		reg := new(synclayer.Registry)
		must(t, reg.Register("p", fake, synclayer.Route("WorkflowDeployed", keyMapper)))
		store := &leaselessStore{Store: new(synclayer.MemoryStore)}
		d := synclayertest.NewDispatcher(t, reg, synclayer.WithObserver(synclayer.NoObserver), synclayer.WithStore(store))
		release := fake.Hold()
		defer release()

		type outcome struct {
			id  string
			rep synclayer.Report
			err error
		}
		done := make(chan outcome, 8)
		dispatch := func(id, key string) {
			go func() {
				rep, err := d.Dispatch(t.Context(), event(id, key, 0))
				done <- outcome{id, rep, err}
			}()
			// Let the dispatch go as far as it can: into the held push, or
			// into the wait for its key.
			synctest.Wait()
		}

		ids := []string{"e1", "e2", "e3", "e4"}
		for _, id := range ids {
			dispatch(id, "K")
			if n := fake.CallCount(); n != 1 {
				t.Fatalf("after dispatching %s: the partner saw %d calls for key K, want 1: a push of K started while another was in flight (calls %+v)", id, n, fake.Calls())
			}
		}
		// Another key goes to the partner while K is busy.
		dispatch("o1", "OTHER")
		if calls := fake.Calls(); len(calls) != 2 || calls[1].Key != "OTHER" {
			t.Fatalf("calls = %+v; want the push of OTHER to start while K waits", calls)
		}

		release()
		for range len(ids) + 1 {
			o := <-done
			if o.err != nil || o.rep.Results[0].Status != synclayer.StatusSynced {
				t.Errorf("%s: status %v, err %v; want synced", o.id, o.rep.Results[0].Status, o.err)
			}
		}
		var order []string
		for _, c := range fake.Calls() {
			if c.Key == "K" {
				order = append(order, c.EventID)
			}
		}
		if diff := cmp.Diff(ids, order); diff != "" {
			t.Errorf("pushes of K in the wrong order (-arrival +pushed):\n%s", diff)
		}
		if n := fake.Overlaps(); n != 0 {
			t.Errorf("%d pushes overlapped another push of the same key", n)
		}
		if rec, _ := fake.Record("K"); rec.EventID != "e4" || rec.Writes != 4 {
			t.Errorf("partner holds K from %s after %d writes; want e4, the last to arrive, after 4", rec.EventID, rec.Writes)
		}
		if n := store.busy.Load(); n != 0 {
			t.Errorf("the store was asked %d times for a key in flight; the process should have waited for it first", n)
		}
	})
}

// A dispatch whose context ends while it waits for a busy key gives up
// without pushing, says why, and does not block the key for those behind it.
func TestDispatchGivesUpWaitingForKeyWhenContextEnds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fake := synclayertest.NewFake()
		reg := new(synclayer.Registry)
		must(t, reg.Register("p", fake, synclayer.Route("WorkflowDeployed", keyMapper)))
		d := synclayertest.NewDispatcher(t, reg, synclayer.WithObserver(synclayer.NoObserver),
			synclayer.WithStore(&leaselessStore{Store: new(synclayer.MemoryStore)}))
		release := fake.Hold()
		defer release()

		errs := make(chan error, 3)
		go func() { _, err := d.Dispatch(t.Context(), event("e1", "K", 0)); errs <- err }()
		synctest.Wait()
		ctx, cancel := context.WithCancel(t.Context())
		rep2 := make(chan synclayer.Report, 1)
		go func() { rep, _ := d.Dispatch(ctx, event("e2", "K", 0)); rep2 <- rep }()
		synctest.Wait()
		go func() { _, err := d.Dispatch(t.Context(), event("e3", "K", 0)); errs <- err }()
		synctest.Wait()

		cancel()
		rep := <-rep2
		res := rep.Results[0]
		var se *synclayer.SyncError
		if res.Status != synclayer.StatusFailed || !errors.Is(res.Err, context.Canceled) || !errors.As(res.Err, &se) || se.Key != "K" || res.Attempts != 0 {
			t.Fatalf("e2: %+v; want failed with context.Canceled naming key K, after no attempt", res)
		}
		release()
		for range 2 {
			if err := <-errs; err != nil {
				t.Error(err)
			}
		}
		var order []string
		for _, c := range fake.Calls() {
			order = append(order, c.EventID)
		}
		if diff := cmp.Diff([]string{"e1", "e3"}, order); diff != "" {
			t.Errorf("pushes (-want +got):\n%s", diff)
		}
	})
}

// A bus delivery of a key that a local route (Dispatch, or Reapply: a
// forced resync or a drift repair; Resync and the drain of pending entries
// are local too) holds in this process while it waits for another
// process's lease does not wait in line for that lease: its handler gives
// the slot back within the busy bound and asks for a redelivery, not
// counted as a failure, as it would had it found the lease itself. The
// local route keeps waiting, and pushes first once the lease ends; the
// redelivered event follows.
func TestBusDeliveryBehindLocalWaiterForBusyKeyIsHandedBack(t *testing.T) {
	ev := event("e0", "K", 1)
	for _, local := range []struct {
		name  string
		start func(d *synclayer.Dispatcher) <-chan synclayer.Result
	}{
		{"Dispatch", func(d *synclayer.Dispatcher) <-chan synclayer.Result {
			out := make(chan synclayer.Result, 1)
			go func() { rep, _ := d.Dispatch(context.Background(), ev); out <- rep.Results[0] }()
			return out
		}},
		{"Reapply", func(d *synclayer.Dispatcher) <-chan synclayer.Result {
			out := make(chan synclayer.Result, 1)
			go func() {
				res, _ := d.Reapply(context.Background(), "p0", ev, synclayer.Record{Key: "K", Version: 1}, nil)
				out <- res
			}()
			return out
		}},
	} {
		t.Run(local.name, func(t *testing.T) { busDeliveryBehindLocalWaiter(t, local.start) })
	}
}

func busDeliveryBehindLocalWaiter(t *testing.T, startLocal func(d *synclayer.Dispatcher) <-chan synclayer.Result) {
	synctest.Test(t, func(t *testing.T) {
		mem, d, fakes, h := runningOverMemory(t)
		other := idempotency.Claim{Connector: "p0", Key: "K", EventID: "other", LeaseTTL: time.Minute} // "another process"
		cr := leasedElsewhere(t, mem, other)
		local := startLocal(d)
		synctest.Wait() // e0 holds K in this process and polls the other lease

		start := time.Now()
		err := h(context.Background(), event("e1", "K", 2))
		held := time.Since(start)
		after, ok := synclayer.RedeliverAfter(err)
		if !ok || synclayer.IsPermanent(err) || !strings.Contains(err.Error(), "record key busy in another process") {
			t.Fatalf("handler = %v after %v; want a redelivery request for a busy key", err, held)
		}
		if held > time.Second || after <= 0 || after > 2*time.Second {
			t.Fatalf("handler held its slot %v and asks for a redelivery in %v; want both short", held, after)
		}
		if n := fakes[0].CallCount(); n != 0 {
			t.Fatalf("the partner saw %d calls while another process held K", n)
		}

		if err := mem.Release(context.Background(), other, cr.Token); err != nil {
			t.Fatal(err)
		}
		if res := <-local; res.Status != synclayer.StatusSynced {
			t.Fatalf("local route of e0 once the other lease ended: %+v; want synced", res)
		}
		if err := h(context.Background(), event("e1", "K", 2)); err != nil { // the redelivery
			t.Fatalf("redelivered e1: %v", err)
		}
		var order []string
		for _, c := range fakes[0].Calls() {
			order = append(order, c.EventID)
		}
		if diff := cmp.Diff([]string{"e0", "e1"}, order); diff != "" {
			t.Errorf("pushes of K (-want +got):\n%s", diff)
		}
	})
}

// A bus delivery waits in line behind local work on its key: another bus
// delivery (or a local route) of the key whose push to a slow partner is
// under way in this process. That wait is not another process's lease, so
// the event is not handed back: it is pushed once the push ahead of it
// ends, in arrival order.
func TestBusDeliveryWaitsBehindLocalPushOfItsKey(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reg, fakes := newFakes(t, 1)
		d := synclayertest.NewDispatcher(t, reg, synclayer.WithObserver(synclayer.NoObserver), synclayer.WithStore(new(synclayer.MemoryStore)))
		h, stop := runHandler(t, d)
		defer stop()
		release := fakes[0].Hold()
		defer release()

		errs := make(chan error, 3)
		go func() { errs <- h(context.Background(), event("e1", "K", 1)) }()
		synctest.Wait() // e1's push is at the partner
		go func() { _, err := d.Dispatch(context.Background(), event("e2", "K", 2)); errs <- err }()
		synctest.Wait()
		go func() { errs <- h(context.Background(), event("e3", "K", 3)) }()
		synctest.Wait() // e2 and e3 wait in line for K
		if n := fakes[0].CallCount(); n != 1 {
			t.Fatalf("the partner saw %d calls while e1's push was under way, want 1", n)
		}
		release()
		for range 3 {
			if err := <-errs; err != nil {
				t.Errorf("delivery: %v; want every one synced, none handed back", err)
			}
		}
		var order []string
		for _, c := range fakes[0].Calls() {
			order = append(order, c.EventID)
		}
		if diff := cmp.Diff([]string{"e1", "e2", "e3"}, order); diff != "" {
			t.Errorf("pushes of K (-arrival +pushed):\n%s", diff)
		}
	})
}

// The same holds for an event's announcement: a duplicate of the event
// from the bus, whose routes are done, does not wait behind a local
// announcement of it that waits for another process's announcement lease.
// It is handed back, and announces nothing twice once that lease ends.
func TestBusAnnouncementBehindLocalWaiterForBusyLeaseIsHandedBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		mem := new(synclayer.MemoryStore)
		reg, fakes := newFakes(t, 1)
		pub := &recordingPublisher{}
		d := synclayertest.NewDispatcher(t, reg, synclayer.WithObserver(synclayer.NoObserver), synclayer.WithStore(mem), synclayer.WithPublisher(pub))
		h, stop := runHandler(t, d)
		defer stop()
		other := idempotency.Claim{Connector: "$announce", Key: "e1", EventID: synclayer.SyncCompleted + "/e1", LeaseTTL: time.Minute}
		cr := leasedElsewhere(t, mem, other)
		local := make(chan error, 1)
		go func() { _, err := d.Dispatch(context.Background(), event("e1", "K", 1)); local <- err }()
		synctest.Wait() // e1 is pushed; its announcement polls the other lease

		start := time.Now()
		err := h(context.Background(), event("e1", "K", 1))
		held := time.Since(start)
		if _, ok := synclayer.RedeliverAfter(err); !ok || !strings.Contains(err.Error(), "busy in another process") {
			t.Fatalf("handler = %v after %v; want a redelivery request for a busy announcement", err, held)
		}
		if held > time.Second {
			t.Fatalf("handler held its slot %v, want it handed back at once", held)
		}
		if err := mem.Release(context.Background(), other, cr.Token); err != nil {
			t.Fatal(err)
		}
		if err := <-local; err != nil {
			t.Fatalf("Dispatch once the other lease ended: %v", err)
		}
		if err := h(context.Background(), event("e1", "K", 1)); err != nil { // the redelivery
			t.Fatalf("redelivered e1: %v", err)
		}
		if n, evs := fakes[0].CallCount(), pub.Events(); n != 1 || len(evs) != 1 {
			t.Errorf("%d pushes and %d announcements of e1, want one of each", n, len(evs))
		}
	})
}

// leasedElsewhere takes the lease of claim c in mem as another process
// would, and returns the claim's result.
func leasedElsewhere(t *testing.T, mem *synclayer.MemoryStore, c idempotency.Claim) idempotency.ClaimResult {
	t.Helper()
	cr, err := mem.Claim(context.Background(), c)
	if err != nil || cr.Status != idempotency.ClaimAcquired {
		t.Fatalf("the other process's claim: %+v, %v", cr, err)
	}
	return cr
}

// runningOverMemory starts Run on a dispatcher with one fake, p0, over a
// MemoryStore, and returns them and Run's handler. Run stops when the
// test ends.
func runningOverMemory(t *testing.T) (*synclayer.MemoryStore, *synclayer.Dispatcher, []*synclayertest.Fake, func(context.Context, synclayer.Event) error) {
	t.Helper()
	mem := new(synclayer.MemoryStore)
	reg, fakes := newFakes(t, 1)
	d := synclayertest.NewDispatcher(t, reg, synclayer.WithObserver(synclayer.NoObserver), synclayer.WithStore(mem))
	h, stop := runHandler(t, d)
	t.Cleanup(stop)
	return mem, d, fakes, h
}
