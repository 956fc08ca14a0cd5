package synclayer_test

import (
	"context"
	"testing"
	"testing/synctest"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/synclayertest"
)

// Records without a version carry no order of their own: the partner ends
// with the last write. A new event of a key that still has pending entries
// (held while the connector was paused or its breaker open) queues behind
// them, so the drain writes them in arrival order and the partner ends
// with the newest.

// A new event of K dispatched while Resume's drain has not yet pushed K's
// older pending entry queues behind it: the partner ends with the new one.
func TestNewEventAfterResumeQueuesBehindPendingOfItsKey(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d, fakes, rep := dispatchWhileResuming(t, unversioned("e2", "K", "second"))
		wantStatuses(t, "e2", rep, "p0:pending")
		synctest.Wait()
		wantNewestOfK(t, d, fakes[0], "e2")
	})
}

// After a restart on a durable log, the drain Run starts with and a new
// event of a key it has not pushed yet: the new event queues behind the
// entry held before the restart.
func TestNewEventAfterRestartQueuesBehindPendingOfItsKey(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		mem := heldBeforeRestart(t)

		// The restart: a new dispatcher on the same log, unpaused.
		log := &gatedLog{durableLog: durableLog{mem}, list: newCallGate()}
		reg, fakes := newFakes(t, 1)
		d := synclayertest.NewDispatcher(t, reg, synclayer.WithObserver(synclayer.NoObserver), synclayer.WithDeliveryLog(log))
		h, stop := runHandler(t, d)
		defer stop()
		<-log.list.reached // Run's drain is listing
		err := h(context.Background(), unversioned("e2", "K", "second"))
		close(log.list.open)
		if err != nil {
			t.Fatalf("e2: %v, want an ack (queued in the durable log)", err)
		}
		synctest.Wait()
		wantNewestOfK(t, d, fakes[0], "e2")
	})
}

// Events of other keys are not held up by a key's pending entries.
func TestPendingKeyHoldsOnlyItsOwnKey(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d, _, rep := dispatchWhileResuming(t, unversioned("o1", "OTHER", "x"))
		wantStatuses(t, "o1", rep, "p0:synced")
		synctest.Wait()
		// Once the drain found nothing pending, K's events flow live again.
		rep, _ = d.Dispatch(context.Background(), unversioned("e3", "K", "third"))
		wantStatuses(t, "e3", rep, "p0:synced")
	})
}

// Reapply of a key that still has pending entries writes nothing (a drain
// would write the older data over it) and reports pending.
func TestReapplyOfAKeyWithPendingEntriesWritesNothing(t *testing.T) {
	mem := heldBeforeRestart(t)

	reg, fakes := newFakes(t, 1)
	d := synclayertest.NewDispatcher(t, reg, synclayer.WithObserver(synclayer.NoObserver), synclayer.WithDeliveryLog(durableLog{mem}))
	ev := unversioned("e2", "K", "second")
	rec, _, err := d.Map(context.Background(), "p0", ev)
	must(t, err)
	res, err := d.Reapply(context.Background(), "p0", ev, rec, nil)
	if err != nil || res.Status != synclayer.StatusPending || fakes[0].CallCount() != 0 {
		t.Fatalf("Reapply = %v, %v, partner called %d times; want pending, no error, no call", res.Status, err, fakes[0].CallCount())
	}
	if got := pendingOf(t, d); len(got) != 1 || got[0].EventID != "e1" {
		t.Fatalf("pending: %+v; want e1's entry only", got)
	}
}

// heldBeforeRestart returns a durable log's memory in which a dispatcher,
// its connector p0 paused, held event e1 of key K ("first") as pending:
// what a dispatcher started on it after a restart finds.
func heldBeforeRestart(t *testing.T) *synclayer.MemoryLog {
	t.Helper()
	mem := new(synclayer.MemoryLog)
	reg, _ := newFakes(t, 1)
	before := synclayertest.NewDispatcher(t, reg, synclayer.WithObserver(synclayer.NoObserver), synclayer.WithDeliveryLog(durableLog{mem}))
	must(t, before.Pause("p0"))
	rep, _ := before.Dispatch(context.Background(), unversioned("e1", "K", "first"))
	wantStatuses(t, "e1", rep, "p0:pending")
	return mem
}

// wantNewestOfK checks that the partner of fake holds key K as event id
// wrote it, and that d has nothing pending left.
func wantNewestOfK(t *testing.T, d *synclayer.Dispatcher, fake *synclayertest.Fake, id string) {
	t.Helper()
	rec, _ := fake.Record("K")
	if pending := pendingOf(t, d); rec.EventID != id || len(pending) != 0 {
		t.Fatalf("partner holds %s (calls %+v), %d entries pending; want %s, none pending", rec.EventID, fake.Calls(), len(pending), id)
	}
}

// dispatchWhileResuming dispatches ev on a dispatcher over a gated
// durable log whose connector p0 held event e1 of key K ("first") while
// paused, and is being resumed: ev comes while Resume's drain waits at the
// log's gate, which then opens. It returns once Resume has.
func dispatchWhileResuming(t *testing.T, ev synclayer.Event) (*synclayer.Dispatcher, []*synclayertest.Fake, synclayer.Report) {
	t.Helper()
	log := &gatedLog{durableLog: durableLog{new(synclayer.MemoryLog)}, list: newCallGate()}
	reg, fakes := newFakes(t, 1)
	d := synclayertest.NewDispatcher(t, reg, synclayer.WithObserver(synclayer.NoObserver), synclayer.WithDeliveryLog(log))
	must(t, d.Pause("p0"))
	rep, _ := d.Dispatch(context.Background(), unversioned("e1", "K", "first"))
	wantStatuses(t, "e1", rep, "p0:pending")
	resumed := make(chan error, 1)
	go func() { _, err := d.Resume(context.Background(), "p0"); resumed <- err }()
	<-log.list.reached // Resume let p0 go; its drain is listing
	rep, _ = d.Dispatch(context.Background(), ev)
	close(log.list.open)
	if err := <-resumed; err != nil {
		t.Fatal(err)
	}
	return d, fakes, rep
}
