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

// When the bus brings an event again while a drain pushes its entry (the
// memory log leaves held events on the bus), the route writes the entry
// pending again. Should the drain's push then fail for a reason that may
// pass (here its context ends), the entry keeps its old place, before the
// newer entry of its key, whichever write lands last: the route's, or the
// drain's putting the entry back.
func TestEventRedeliveredDuringItsDrainPushKeepsItsPlace(t *testing.T) {
	t.Run("route's write first", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			// The route's write lands just before the drain looks at the
			// entry to put it back.
			log := &listHookLog{MemoryLog: new(synclayer.MemoryLog)}
			d, fakes, h, fail := drainPushOfE1(t, log)
			log.when = func(f synclayer.DeliveryFilter) bool { return f.EventID == "e1" && len(f.States) == 0 }
			log.hook = func() { wantRedeliveryRequest(t, h, heldE1) }
			log.armed.Store(true)
			fail()
			wantE1BeforeE2(t, d, fakes[0])
		})
	})
	t.Run("drain's write first", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			// The route's write waits until the drain has put the entry back.
			log := &putHookLog{MemoryLog: new(synclayer.MemoryLog), release: make(chan struct{})}
			d, fakes, h, fail := drainPushOfE1(t, log)
			log.armed.Store(true)
			redelivered := make(chan struct{})
			go func() { wantRedeliveryRequest(t, h, heldE1); close(redelivered) }()
			synctest.Wait() // the route waits to write e1's entry
			fail()
			<-redelivered
			synctest.Wait()
			wantE1BeforeE2(t, d, fakes[0])
		})
	})
}

// heldE1 is the older event of key K in drainPushOfE1.
var heldE1 = unversioned("e1", "K", "first")

// drainPushOfE1 holds e1 then e2 of key K under Run with log, a second
// apart, and resumes: the drain's push of e1 hangs at the partner. It
// returns fail, which pauses the connector again (no other drain pushes
// before the caller's checks) and ends the push for a reason that may
// pass, and waits for the drain.
func drainPushOfE1(t *testing.T, log synclayer.DeliveryLog) (*synclayer.Dispatcher, []*synclayertest.Fake, func(context.Context, synclayer.Event) error, func()) {
	t.Helper()
	reg, fakes := newFakes(t, 1)
	d := synclayertest.NewDispatcher(t, reg, synclayer.WithObserver(synclayer.NoObserver), synclayer.WithDeliveryLog(log))
	must(t, d.Pause("p0"))
	h, stop := runHandler(t, d)
	t.Cleanup(stop)
	for _, ev := range []synclayer.Event{heldE1, unversioned("e2", "K", "second")} {
		wantRedeliveryRequest(t, h, ev)
		time.Sleep(time.Second)
	}
	fakes[0].Inject(synclayertest.Fault{Key: "K", Wait: make(chan struct{})})
	ctx, cancel := context.WithCancel(context.Background())
	resumed := make(chan struct{})
	go func() {
		_, _ = d.Resume(ctx, "p0")
		close(resumed)
	}()
	synctest.Wait() // the drain's push of e1 waits at the partner
	return d, fakes, h, func() {
		must(t, d.Pause("p0"))
		cancel()
		<-resumed
		synctest.Wait()
	}
}

// wantRedeliveryRequest hands ev to the Run handler h, and fails unless it
// asks for a redelivery: the route was held (paused, or queued behind its
// key) in a log that is not durable.
func wantRedeliveryRequest(t *testing.T, h func(context.Context, synclayer.Event) error, ev synclayer.Event) {
	t.Helper()
	if _, ok := synclayer.RedeliverAfter(h(context.Background(), ev)); !ok {
		t.Errorf("%s: want a redelivery request (held, the log is not durable)", ev.ID)
	}
}

// wantE1BeforeE2 fails unless e1 is pending before e2 and, once resumed,
// the partner holds e2, the newest.
func wantE1BeforeE2(t *testing.T, d *synclayer.Dispatcher, fake *synclayertest.Fake) {
	t.Helper()
	wantHeldBefore(t, d, "e1", "e2")
	if _, err := d.Resume(context.Background(), "p0"); err != nil {
		t.Fatal(err)
	}
	if rec, _ := fake.Record("K"); rec.EventID != "e2" {
		t.Fatalf("partner holds %s, want e2 (the newest); calls %+v", rec.EventID, fake.Calls())
	}
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

// putHookLog is a MemoryLog that, once armed, holds a write of e1 pending
// that is not the drain's putting it back (dated after its place, 00:00)
// until that write has landed.
type putHookLog struct {
	*synclayer.MemoryLog
	armed   atomic.Bool
	release chan struct{}
	once    sync.Once
}

func (l *putHookLog) Put(ctx context.Context, dl synclayer.Delivery) error {
	if !l.armed.Load() || dl.EventID != "e1" || dl.State != synclayer.StatusPending {
		return l.MemoryLog.Put(ctx, dl)
	}
	if dl.Updated.After(synctestEpoch) {
		<-l.release
		return l.MemoryLog.Put(ctx, dl)
	}
	err := l.MemoryLog.Put(ctx, dl)
	l.once.Do(func() { close(l.release) })
	return err
}

// synctestEpoch is when a synctest bubble's clock starts.
var synctestEpoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
