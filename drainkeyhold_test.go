package synclayer_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/synclayertest"
)

// A drain's push of a pending entry holds the entry's key: while it runs
// the entry is in progress, not pending, in the log, and if the push fails
// for a reason that may pass the entry goes back to pending. A new event of
// the key that arrives meanwhile must queue behind it, or the next drain
// would write the older entry over the newer event at the partner.

// A new event of the key arrives while the drain pushes the key's old
// entry, whose push then fails (its caller went away): the partner ends
// with the new event's record.
func TestDrainPushHoldsItsKey(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		log := durableLog{new(synclayer.MemoryLog)}
		reg, fakes := newFakes(t, 1)
		d := synclayertest.NewDispatcher(t, reg, synclayer.WithObserver(synclayer.NoObserver), synclayer.WithDeliveryLog(log))
		must(t, d.Pause("p0"))
		rep, _ := d.Dispatch(context.Background(), unversioned("e1", "K", "first"))
		wantStatuses(t, "e1", rep, "p0:pending")

		cancel, resumed := resumeHeldAtPartner(d, fakes[0]) // e1 is at the partner, its entry in progress
		time.Sleep(time.Second)

		live := make(chan synclayer.Report, 1)
		go func() { r, _ := d.Dispatch(context.Background(), unversioned("e2", "K", "second")); live <- r }()
		synctest.Wait()
		cancel() // Resume's caller went away: e1's push fails, e1 stays pending
		<-resumed
		<-live
		synctest.Wait() // the drains that the hold of e2 started

		if _, err := d.Resume(context.Background(), "p0"); err != nil {
			t.Fatal(err)
		}
		if rec, _ := fakes[0].Record("K"); rec.EventID != "e2" {
			t.Fatalf("partner holds %s's record, want e2's (the newest); calls %+v", rec.EventID, fakes[0].Calls())
		}
		if p := pendingOf(t, d); len(p) != 0 {
			t.Fatalf("pending entries left: %+v", p)
		}
	})
}

// The first look of a connector at the log for pending entries is made
// (by a route of another key) while a drain pushes an entry held before a
// restart: finding nothing pending must not let later routes stop asking
// the log, as the entry goes back to pending when its push fails.
func TestDrainPushKeepsConnectorAsking(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		mem := new(synclayer.MemoryLog)
		old := unversioned("e1", "K", "first")
		must(t, mem.Put(context.Background(), synclayer.Delivery{EventID: "e1", EventType: old.Type, Connector: "p0", Key: "K",
			State: synclayer.StatusPending, Updated: time.Now(), Event: &old}))
		time.Sleep(time.Second)
		reg, fakes := newFakes(t, 1)
		d := synclayertest.NewDispatcher(t, reg, synclayer.WithObserver(synclayer.NoObserver), synclayer.WithDeliveryLog(durableLog{mem}))

		cancel, resumed := resumeHeldAtPartner(d, fakes[0]) // e1 is at the partner, its entry in progress

		// The connector's first route looks at the whole log: nothing is
		// pending at this moment.
		rep, _ := d.Dispatch(context.Background(), unversioned("x1", "OTHER", "x"))
		wantStatuses(t, "x1", rep, "p0:synced")
		cancel() // e1's push fails, e1 goes back to pending
		<-resumed
		synctest.Wait()
		time.Sleep(time.Second)

		rep, _ = d.Dispatch(context.Background(), unversioned("e2", "K", "second"))
		synctest.Wait()
		if _, err := d.Resume(context.Background(), "p0"); err != nil {
			t.Fatal(err)
		}
		if rec, _ := fakes[0].Record("K"); rec.EventID != "e2" {
			t.Fatalf("partner holds %s's record, want e2's (the newest); e2 was %v; calls %+v", rec.EventID, statuses(rep), fakes[0].Calls())
		}
	})
}

// resumeHeldAtPartner makes fake hold every push of key K until the test
// ends, starts Resume of p0 on d in a goroutine of its own, and waits until
// the bubble is idle: the drain's push of K's entry is at the partner, its
// entry in progress. It returns what ends Resume's context (its push then
// fails) and what closes once Resume has returned.
func resumeHeldAtPartner(d *synclayer.Dispatcher, fake *synclayertest.Fake) (context.CancelFunc, <-chan struct{}) {
	gate := make(chan struct{})
	fake.Inject(synclayertest.Fault{Key: "K", Wait: gate})
	rctx, cancel := context.WithCancel(context.Background())
	resumed := make(chan struct{})
	go func() { _, _ = d.Resume(rctx, "p0"); close(resumed) }()
	synctest.Wait()
	return cancel, resumed
}
