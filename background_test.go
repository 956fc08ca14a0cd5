package synclayer_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/synclayertest"
)

// A drain that Run's shutdown cancels in the middle of a probe schedules
// another drain (the probe's slot is given back, and what it held back
// must be drained) after Run's life has ended. That drain belongs to the
// ended Run and is dropped: no Connector.Sync is called after Run returns,
// and what it would have pushed stays pending for the next Run.
func TestNoDrainAfterRunReturns(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reg := new(synclayer.Registry)
		fake := synclayertest.NewFake()
		var runDone atomic.Bool
		var late atomic.Int32
		conn := synclayer.ConnectorFunc(func(ctx context.Context, r synclayer.Record) error {
			if runDone.Load() {
				late.Add(1)
			}
			return fake.Sync(ctx, r)
		})
		const openFor = time.Minute
		must(t, reg.Register("p0", conn, synclayer.Route("WorkflowDeployed", keyMapper),
			synclayer.WithRetry(synclayer.RetryPolicy{MaxAttempts: 1}),
			synclayer.WithBreaker(synclayer.BreakerPolicy{MinRequests: 1, FailureRate: 1, OpenFor: openFor})))
		d := synclayertest.NewDispatcher(t, reg, synclayer.WithObserver(synclayer.NoObserver),
			synclayer.WithDeliveryLog(durableLog{new(synclayer.MemoryLog)}), synclayer.WithDrainTimeout(time.Millisecond))
		h, stop := runHandler(t, d)

		fake.Inject(synclayertest.Fault{Key: "K1", Err: errors.New("down")})
		_ = h(t.Context(), event("e1", "K1", 1))
		if s := d.Status()[0].Breaker; s != synclayer.BreakerOpen {
			t.Fatalf("breaker after a failure: %v, want open", s)
		}
		gate := make(chan struct{})
		fake.Inject(synclayertest.Fault{Key: "K2", Wait: gate})
		for _, ev := range []synclayer.Event{event("e2", "K2", 1), event("e3", "K3", 1)} {
			if err := h(t.Context(), ev); err != nil {
				t.Fatalf("held %s: %v", ev.ID, err)
			}
		}
		// The drain scheduled when the breaker opened probes with e2 (K2
		// before K3) and waits at the gate.
		time.Sleep(openFor)
		synctest.Wait()
		if n := fake.CallCount(); n != 2 {
			t.Fatalf("%d Sync calls once the breaker may close, want 2 (e1, then the probe e2): %v", n, fake.Calls())
		}

		stop() // cancels the probe; Run returns
		runDone.Store(true)
		time.Sleep(time.Hour) // every timer a detached job could wait on fires
		synctest.Wait()
		if n := late.Load(); n != 0 {
			t.Errorf("%d Connector.Sync calls after Run returned: %v", n, fake.Calls())
		}
		if _, ok := fake.Record("K3"); ok {
			t.Errorf("e3 reached the partner after Run returned")
		}
		pending, err := d.Deliveries(t.Context(), synclayer.DeliveryFilter{Key: "K3", States: []synclayer.Status{synclayer.StatusPending}})
		if err != nil || len(pending) != 1 {
			t.Fatalf("K3 pending after Run: %v, %v; want e3 kept for the next Run", pending, err)
		}

		// The next Run drains what the ended one left pending.
		close(gate)
		runDone.Store(false)
		_, stop2 := runHandler(t, d)
		synctest.Wait()
		if _, ok := fake.Record("K3"); !ok {
			t.Errorf("the next Run did not push e3; calls: %v", fake.Calls())
		}
		stop2()
	})
}

// With two Runs on one Dispatcher (say, one per bus), work that a
// handler of one schedules belongs to that Run, not to the newest: here,
// the route of e2 queued behind e1 counts on a drain again of e1 only if
// that drain again is its own Run's. The drain again that Resume (no Run
// named) scheduled went with the newest Run, B, and moves to A when B
// stops (TestDrainAgainOfResumeOutlivesTheRunItWentWith); A goes on, and
// a drain pushes both once the store is back.
func TestHandlerWorkBelongsToItsOwnRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, fake, hA, stopB, store := resumedWithTheStoreDown(t)
		ctx := context.Background()
		if err := hA(ctx, event("e2", "K", 2)); err != nil {
			t.Fatalf("route of e2 queued behind e1: %v, want an ack", err)
		}
		stopB()
		store.set("e1", false)

		time.Sleep(time.Minute)
		synctest.Wait()
		if rec, ok := fake.Record("K"); !ok || rec.Version != 2 {
			t.Fatalf("a minute after the store came back, with Run A going on, the partner holds K at %+v (found %v); want version 2", rec, ok)
		}
	})
}

// A drain again that Resume, called outside any Run, scheduled goes with
// the newest Run; when that Run stops first while another goes on, the
// drain moves to the one that goes on rather than being dropped with the
// Run it went with: nothing else would push e1 until the next hold,
// Resume, breaker change or Run start.
func TestDrainAgainOfResumeOutlivesTheRunItWentWith(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d, fake, _, stopB, store := resumedWithTheStoreDown(t)
		stopB()
		store.set("e1", false)

		time.Sleep(time.Minute)
		synctest.Wait()
		if rec, ok := fake.Record("K"); !ok || rec.EventID != "e1" {
			t.Fatalf("a minute after the store came back, with Run A going on, the partner holds K at %+v (found %v); want e1's write", rec, ok)
		}
		got, err := d.Deliveries(t.Context(), synclayer.DeliveryFilter{EventID: "e1"})
		if err != nil || len(got) != 1 || got[0].State != synclayer.StatusSynced {
			t.Errorf("log entry of e1: %+v, %v; want it synced", got, err)
		}
	})
}

// resumedWithTheStoreDown starts two Runs, A and then B, on a paused
// dispatcher with a durable log. A's handler holds e1 of key K; Resume,
// called outside any Run while the store fails e1's claims, leaves e1
// pending and schedules a drain again, which goes with B, the newest. It
// returns the dispatcher, its partner, A's handler, what stops B, and the
// store, still failing e1.
func resumedWithTheStoreDown(t *testing.T) (*synclayer.Dispatcher, *synclayertest.Fake, func(context.Context, synclayer.Event) error, func(), *claimFails) {
	t.Helper()
	store := newClaimFails()
	d, fakes, hA := pausedRunOnStore(t, store)
	_, stopB := runHandler(t, d)
	ctx := context.Background()
	if err := hA(ctx, event("e1", "K", 1)); err != nil {
		t.Fatalf("held route of e1 in a durable log: %v, want an ack", err)
	}
	store.set("e1", true)
	if res, _ := d.Resume(ctx, "p0"); len(res) != 1 || res[0].Status != synclayer.StatusFailed {
		t.Fatalf("Resume with the store down: %+v, want e1 failed", res)
	}
	return d, fakes[0], hA, stopB, store
}
