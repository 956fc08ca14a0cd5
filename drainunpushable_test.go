package synclayer_test

import (
	"context"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/synclayertest"
)

// A pending entry that no drain can push (its event type has no route to
// the connector any more, or the log did not keep its event) is recorded
// dead with the reason, where DeadLetters shows it: left pending, it would
// hold its key for good, every later event of the key queueing behind it.
func TestDrainUnpushableEntryIsDead(t *testing.T) {
	for _, tc := range []struct {
		name    string
		event   *synclayer.Event
		wantErr string
	}{
		{"no route", &synclayer.Event{ID: "old", Type: "Gone", Subject: "K"}, `no route of "Gone" to connector "p0"`},
		{"no event", nil, "the delivery log kept no event to push"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				mem := new(synclayer.MemoryLog) // held before a restart
				must(t, mem.Put(context.Background(), synclayer.Delivery{EventID: "old", EventType: "Gone", Connector: "p0", Key: "K",
					State: synclayer.StatusPending, Updated: time.Now(), Event: tc.event}))
				time.Sleep(time.Second)
				reg, fakes := newFakes(t, 1)
				d := synclayertest.NewDispatcher(t, reg, synclayer.WithObserver(synclayer.NoObserver), synclayer.WithDeliveryLog(durableLog{mem}))

				rep, _ := d.Dispatch(context.Background(), unversioned("e1", "K", "e1"))
				wantStatuses(t, "e1, behind the old entry", rep, "p0:pending")
				synctest.Wait() // the drain its hold started
				if rec, _ := fakes[0].Record("K"); rec.EventID != "e1" {
					t.Fatalf("partner holds %q for K, want e1's record; calls %+v", rec.EventID, fakes[0].Calls())
				}
				dead, err := d.DeadLetters(context.Background(), synclayer.DeliveryFilter{EventID: "old"})
				must(t, err)
				if len(dead) != 1 || dead[0].State != synclayer.StatusDead || !strings.Contains(dead[0].Error, tc.wantErr) {
					t.Fatalf("dead letters of the old entry: %+v; want it dead with %q", dead, tc.wantErr)
				}

				// The key is free again: a new event is pushed live, and a
				// reapply writes.
				rep, _ = d.Dispatch(context.Background(), unversioned("e2", "K", "e2"))
				wantStatuses(t, "e2", rep, "p0:synced")
				ev := unversioned("e3", "K", "e3")
				rec, _, err := d.Map(context.Background(), "p0", ev)
				must(t, err)
				res, err := d.Reapply(context.Background(), "p0", ev, rec, nil)
				if err != nil || res.Status != synclayer.StatusSynced {
					t.Fatalf("Reapply of K: %v, %v; want synced", res.Status, err)
				}
				if p := pendingOf(t, d); len(p) != 0 {
					t.Fatalf("pending entries left: %+v", p)
				}
			})
		})
	}
}
