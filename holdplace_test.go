package synclayer_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/synclayertest"
)

// A route held again keeps its place in its key's order: the drain pushes
// each key's pending entries in the order of their Updated times, so an
// entry written again as pending (its push found the breaker open, or the
// bus brought its event again) keeps the time it was first held, or the
// partner would end with the older data.

// wantHeldBefore fails unless first's pending entry is dated before
// second's: the drain will push first before second.
func wantHeldBefore(t *testing.T, d *synclayer.Dispatcher, first, second string) {
	t.Helper()
	a, b := entryOf(t, d, first), entryOf(t, d, second)
	if a.State != synclayer.StatusPending || b.State != synclayer.StatusPending || !a.Updated.Before(b.Updated) {
		t.Fatalf("%s %s at %v, %s %s at %v; want both pending, %s first",
			first, a.State, a.Updated, second, b.State, b.Updated, first)
	}
}

// wantE2OnceBreakerProbes lets a minute pass, in which the open breaker
// of p0 lets a probe through and its drain runs, and fails unless the
// partner of fake then holds K as e2 (the newest) wrote it, with no entry
// of d left pending.
func wantE2OnceBreakerProbes(t *testing.T, d *synclayer.Dispatcher, fake *synclayertest.Fake) {
	t.Helper()
	time.Sleep(time.Minute)
	synctest.Wait()
	if rec, _ := fake.Record("K"); rec.EventID != "e2" || len(pendingOf(t, d)) != 0 {
		t.Fatalf("partner holds %s, %d entries pending; want e2 (the newest), none pending; calls %+v",
			rec.EventID, len(pendingOf(t, d)), fake.Calls())
	}
}

// A drained entry whose push finds the breaker opened during its retries
// is held again in its old place, before the newer entry of its key held
// after it, and the next drain pushes the newer one last.
func TestHeldAgainDrainEntryKeepsItsPlace(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reg, fakes := newFakes(t, 1, synclayer.WithBreaker(synclayer.BreakerPolicy{Window: time.Minute, MinRequests: 2, FailureRate: 0.5, OpenFor: 10 * time.Second}))
		d := synclayertest.NewDispatcher(t, reg, synclayer.WithObserver(synclayer.NoObserver), synclayer.WithDeliveryLog(durableLog{new(synclayer.MemoryLog)}))
		must(t, d.Pause("p0"))
		rep, _ := d.Dispatch(context.Background(), unversioned("e1", "K", "first"))
		wantStatuses(t, "e1", rep, "p0:pending")
		time.Sleep(time.Second)
		rep, _ = d.Dispatch(context.Background(), unversioned("e2", "K", "second"))
		wantStatuses(t, "e2", rep, "p0:pending")
		time.Sleep(time.Second)

		fakes[0].Inject(synclayertest.Fault{Key: "K", Times: 2}) // e1's first two attempts fail: the breaker opens
		res, err := d.Resume(context.Background(), "p0")
		if err != nil || len(res) != 1 || res[0].Status != synclayer.StatusPending {
			t.Fatalf("Resume: %+v, %v; want e1 held again", res, err)
		}
		wantHeldBefore(t, d, "e1", "e2")

		wantE2OnceBreakerProbes(t, d, fakes[0])
	})
}

// A live route whose breaker opens during its retries is held as of when
// it set out, before a route of its key held while it waited to try
// again; and so is a route of the key that waited for the key's lock
// meanwhile and then found the breaker open, though its push began after
// that later route was held.
func TestHeldDuringRetriesKeepsItsPlace(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reg, fakes := newFakes(t, 1,
			synclayer.WithRetry(synclayer.RetryPolicy{MaxAttempts: 5, InitialInterval: time.Second, MaxInterval: time.Second, Jitter: -1}),
			synclayer.WithBreaker(synclayer.BreakerPolicy{Window: time.Minute, MinRequests: 2, FailureRate: 0.5, OpenFor: 10 * time.Second}))
		d := synclayertest.NewDispatcher(t, reg, synclayer.WithObserver(synclayer.NoObserver), synclayer.WithDeliveryLog(durableLog{new(synclayer.MemoryLog)}))
		fakes[0].Inject(synclayertest.Fault{Key: "K", Times: 2})
		e0 := goDispatch(d, unversioned("e0", "K", "zero"))
		time.Sleep(100 * time.Millisecond)
		e1 := goDispatch(d, unversioned("e1", "K", "first")) // waits for K's lock
		for fakes[0].CallCount() < 2 {
			time.Sleep(10 * time.Millisecond)
		}
		synctest.Wait() // e0 failed twice, the breaker is open, e0 waits to try again
		rep, _ := d.Dispatch(context.Background(), unversioned("e2", "K", "second"))
		wantStatuses(t, "e2", rep, "p0:pending")
		wantStatuses(t, "e0", <-e0, "p0:pending")
		wantStatuses(t, "e1", <-e1, "p0:pending")
		wantHeldBefore(t, d, "e0", "e1")
		wantHeldBefore(t, d, "e1", "e2")

		wantE2OnceBreakerProbes(t, d, fakes[0])
	})
}

// With a log that does not survive a restart, Run hands a held event back
// to the bus; when the bus brings it again while its entry is still
// pending, the entry keeps its place before the newer one of its key.
func TestRedeliveredHeldEventKeepsItsPlace(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reg, fakes := newFakes(t, 1)
		d := synclayertest.NewDispatcher(t, reg, synclayer.WithObserver(synclayer.NoObserver), synclayer.WithDeliveryLog(new(synclayer.MemoryLog)))
		must(t, d.Pause("p0"))
		h, stop := runHandler(t, d)
		defer stop()
		for _, ev := range []synclayer.Event{unversioned("e1", "K", "first"), unversioned("e2", "K", "second"), unversioned("e1", "K", "first")} {
			if _, ok := synclayer.RedeliverAfter(h(context.Background(), ev)); !ok {
				t.Fatalf("%s: want a redelivery request (paused, the log is not durable)", ev.ID)
			}
			time.Sleep(time.Second)
		}
		wantHeldBefore(t, d, "e1", "e2")
		if _, err := d.Resume(context.Background(), "p0"); err != nil {
			t.Fatal(err)
		}
		if rec, _ := fakes[0].Record("K"); rec.EventID != "e2" {
			t.Fatalf("partner holds %s, want e2 (the newest); calls %+v", rec.EventID, fakes[0].Calls())
		}
	})
}

// pausingMapper maps as keyMapper does, and pauses connector p0 of d
// while it maps event pauseOn, as an operator's Pause that comes while a
// drain's push of that event is on its way.
type pausingMapper struct {
	d       *atomic.Pointer[synclayer.Dispatcher] // nil: no pause
	pauseOn string
}

func (m pausingMapper) Map(ctx context.Context, ev synclayer.Event) (synclayer.Record, error) {
	if d := m.d.Load(); ev.ID == m.pauseOn && d != nil {
		if err := d.Pause("p0"); err != nil {
			return synclayer.Record{}, err
		}
	}
	return keyMapper.Map(ctx, ev)
}

// A drained entry whose route finds the connector paused again is held
// again in its old place.
func TestDrainEntryPausedAgainKeepsItsPlace(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var pauser atomic.Pointer[synclayer.Dispatcher]
		fake := synclayertest.NewFake()
		reg := new(synclayer.Registry)
		must(t, reg.Register("p0", fake, synclayer.Route("WorkflowDeployed", pausingMapper{&pauser, "e1"})))
		d := synclayertest.NewDispatcher(t, reg, synclayer.WithObserver(synclayer.NoObserver), synclayer.WithDeliveryLog(durableLog{new(synclayer.MemoryLog)}))
		must(t, d.Pause("p0"))
		for _, ev := range []synclayer.Event{unversioned("e1", "K", "first"), unversioned("e2", "K", "second")} {
			rep, _ := d.Dispatch(context.Background(), ev)
			wantStatuses(t, ev.ID, rep, "p0:pending")
			time.Sleep(time.Second)
		}
		pauser.Store(d) // the drain's route of e1 pauses the connector again
		if res, err := d.Resume(context.Background(), "p0"); err != nil || len(res) != 1 || res[0].Status != synclayer.StatusPending {
			t.Fatalf("Resume: %+v, %v; want e1 held again", res, err)
		}
		wantHeldBefore(t, d, "e1", "e2")
	})
}

// listHookLog is a MemoryLog that, once armed, calls hook once, before it
// answers the first List that matches when. Set both before arming it.
type listHookLog struct {
	*synclayer.MemoryLog
	when  func(synclayer.DeliveryFilter) bool
	hook  func()
	armed atomic.Bool
	once  sync.Once
}

func (l *listHookLog) List(ctx context.Context, f synclayer.DeliveryFilter) ([]synclayer.Delivery, error) {
	if l.armed.Load() && l.when(f) {
		l.once.Do(l.hook)
	}
	return l.MemoryLog.List(ctx, f)
}

// When the bus brings an event again while a drain pushes its entry (the
// memory log leaves held events on the bus), the route writes the entry
// pending again, dated now. Should the drain's push fail for a reason that
// may pass (here its context ends), the entry goes back to its old place,
// before the newer entry of its key, even when that route's write lands
// just before the drain looks at the entry to put it back.
func TestEventRedeliveredDuringItsDrainPushKeepsItsPlace(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reg, fakes := newFakes(t, 1)
		log := &listHookLog{MemoryLog: new(synclayer.MemoryLog)}
		d := synclayertest.NewDispatcher(t, reg, synclayer.WithObserver(synclayer.NoObserver), synclayer.WithDeliveryLog(log))
		must(t, d.Pause("p0"))
		h, stop := runHandler(t, d)
		defer stop()
		ctx := context.Background()
		e1 := unversioned("e1", "K", "first")
		for _, ev := range []synclayer.Event{e1, unversioned("e2", "K", "second")} {
			if _, ok := synclayer.RedeliverAfter(h(ctx, ev)); !ok {
				t.Fatalf("%s: want a redelivery request (paused, the log is not durable)", ev.ID)
			}
			time.Sleep(time.Second)
		}

		fakes[0].Inject(synclayertest.Fault{Key: "K", Wait: make(chan struct{})})
		rctx, cancel := context.WithCancel(ctx)
		resumed := make(chan error, 1)
		go func() {
			_, err := d.Resume(rctx, "p0")
			resumed <- err
		}()
		synctest.Wait() // the drain's push of e1 waits at the partner
		// The bus brings e1 again just as the drain, its push failed, looks
		// at e1's entry to put it back to pending.
		log.when = func(f synclayer.DeliveryFilter) bool { return f.EventID == "e1" && len(f.States) == 0 }
		log.hook = func() {
			if _, ok := synclayer.RedeliverAfter(h(ctx, e1)); !ok {
				t.Errorf("e1 brought again: want a redelivery request")
			}
		}
		log.armed.Store(true)
		must(t, d.Pause("p0")) // no other drain pushes before the check
		cancel()               // e1's push fails, for a reason that may pass
		<-resumed
		synctest.Wait()
		wantHeldBefore(t, d, "e1", "e2")

		if _, err := d.Resume(ctx, "p0"); err != nil {
			t.Fatal(err)
		}
		if rec, _ := fakes[0].Record("K"); rec.EventID != "e2" {
			t.Fatalf("partner holds %s, want e2 (the newest); calls %+v", rec.EventID, fakes[0].Calls())
		}
	})
}
