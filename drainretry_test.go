package synclayer_test

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/idempotency"
	"github.com/hmsplatform/synclayer/synclayertest"
)

// A drained entry has no bus behind it to bring it back: a drain push that
// fails for a reason that may pass (its context ended, a retryable partner
// error after the retry budget, the store) leaves the entry pending, with
// its event, for the next drain; only a permanent failure makes it dead.

// unversioned is an event of key with no version in its data.
func unversioned(id, key, n string) synclayer.Event {
	return synclayer.Event{ID: id, Type: "WorkflowDeployed", Subject: key, Data: json.RawMessage(`{"n":"` + n + `"}`)}
}

func entryOf(t *testing.T, d *synclayer.Dispatcher, eventID string) synclayer.Delivery {
	t.Helper()
	got, err := d.Deliveries(context.Background(), synclayer.DeliveryFilter{EventID: eventID, Connector: "p0"})
	if err != nil || len(got) != 1 {
		t.Fatalf("log entry of %s: %v, %v", eventID, got, err)
	}
	return got[0]
}

// A held route acknowledged on the bus (durable log) whose drain push is
// cancelled stays pending, and the next Resume pushes it.
func TestDrainCancelledKeepsEntryPending(t *testing.T) {
	log := durableLog{new(synclayer.MemoryLog)}
	reg, fakes := newFakes(t, 1)
	d := synclayertest.NewDispatcher(t, reg, synclayer.WithObserver(synclayer.NoObserver), synclayer.WithDeliveryLog(log))
	must(t, d.Pause("p0"))
	h, stop := runHandler(t, d)
	if err := h(context.Background(), event("e1", "K", 1)); err != nil {
		t.Fatalf("held route in a durable log: %v, want an ack", err)
	}
	stop()
	gate := make(chan struct{})
	fakes[0].Inject(synclayertest.Fault{Wait: gate})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _, _ = d.Resume(ctx, "p0"); close(done) }()
	if err := fakes[0].WaitInFlight(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	cancel() // the caller gave up, or Run is shutting down
	<-done
	if e := entryOf(t, d, "e1"); e.State != synclayer.StatusPending || e.Event == nil {
		t.Fatalf("after a cancelled drain push the entry is %v (event kept: %v), want pending with its event", e.State, e.Event != nil)
	}
	res, err := d.Resume(context.Background(), "p0")
	if err != nil || len(res) != 1 || res[0].Status != synclayer.StatusSynced {
		t.Fatalf("second Resume: %+v, %v; want e1 synced", res, err)
	}
	if _, ok := fakes[0].Record("K"); !ok || entryOf(t, d, "e1").State != synclayer.StatusSynced {
		t.Fatalf("partner has K: %v, entry %v; want pushed and synced", ok, entryOf(t, d, "e1").State)
	}
}

// completeFailsFor is a memory store whose Complete fails for the events
// in fail (a store that went away after the push).
type completeFailsFor struct {
	synclayer.Store
	mu   sync.Mutex
	fail map[string]bool
}

func (s *completeFailsFor) Complete(ctx context.Context, c idempotency.Claim, token string) error {
	s.mu.Lock()
	fail := s.fail[c.EventID]
	s.mu.Unlock()
	if fail {
		_ = s.Store.Release(ctx, c, token)
		return errors.New("connection refused")
	}
	return s.Store.Complete(ctx, c, token)
}

func (s *completeFailsFor) set(eventID string, fail bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail[eventID] = fail
}

// A drain push that the store could not record leaves the entry pending,
// is tried once per drain (no hot loop), and is pushed again by a later
// drain once the store is back.
func TestDrainStoreFailureKeepsEntryPending(t *testing.T) {
	store := &completeFailsFor{Store: new(synclayer.MemoryStore), fail: map[string]bool{"e1": true}}
	d, fakes := pausedOnStore(t, store)
	rep, _ := d.Dispatch(context.Background(), event("e1", "K", 1))
	wantStatuses(t, "e1", rep, "p0:pending")
	res, _ := d.Resume(context.Background(), "p0")
	if len(res) != 1 || res[0].Status != synclayer.StatusFailed || synclayer.IsPermanent(res[0].Err) || !errors.Is(res[0].Err, synclayer.ErrStore) {
		t.Fatalf("Resume: %+v; want one store failure, not permanent", res)
	}
	if n := fakes[0].CallCount(); n != 1 {
		t.Fatalf("partner called %d times, want 1 (one try, then the drain ends)", n)
	}
	if e := entryOf(t, d, "e1"); e.State != synclayer.StatusPending || e.Event == nil {
		t.Fatalf("entry %v (event kept: %v), want pending with its event", e.State, e.Event != nil)
	}
	store.set("e1", false)
	res, err := d.Resume(context.Background(), "p0")
	if err != nil || len(res) != 1 || res[0].Status != synclayer.StatusSynced {
		t.Fatalf("Resume once the store is back: %+v, %v; want e1 synced", res, err)
	}
	if e := entryOf(t, d, "e1"); e.State != synclayer.StatusSynced {
		t.Fatalf("entry %v, want synced", e.State)
	}
}

// A drain push that failed for good (a permanent error, or the retry
// policy gave up) makes the entry dead, as it does a live route's.
func TestDrainFailureForGoodIsDead(t *testing.T) {
	for _, c := range []struct {
		name  string
		fault synclayertest.Fault
	}{
		{"permanent error", synclayertest.Fault{Err: synclayer.Permanent(errors.New("400 bad record"))}},
		{"retry budget spent", synclayertest.Fault{Times: -1, Err: errors.New("503")}},
	} {
		t.Run(c.name, func(t *testing.T) {
			reg, fakes := newFakes(t, 1)
			d := synclayertest.NewDispatcher(t, reg, synclayer.WithObserver(synclayer.NoObserver), synclayer.WithDeliveryLog(durableLog{new(synclayer.MemoryLog)}))
			must(t, d.Pause("p0"))
			rep, _ := d.Dispatch(context.Background(), event("e1", "K", 1))
			wantStatuses(t, "e1", rep, "p0:pending")
			fakes[0].Inject(c.fault)
			if _, err := d.Resume(context.Background(), "p0"); err != nil {
				t.Fatal(err)
			}
			if e := entryOf(t, d, "e1"); e.State != synclayer.StatusDead {
				t.Fatalf("entry %v, want dead", e.State)
			}
		})
	}
}

// Of two pending entries of one key, the older left pending by its drain
// push (the store could not record it) and the newer pushed, the older is
// superseded (stale), not left for a later drain to write over the newer.
func TestDrainSupersedesOlderEntryLeftPendingOnceNewerPushed(t *testing.T) {
	store := &completeFailsFor{Store: new(synclayer.MemoryStore), fail: map[string]bool{"e1": true}}
	d, fakes := pausedOnStore(t, store)
	for _, id := range []string{"e1", "e2"} {
		rep, _ := d.Dispatch(context.Background(), unversioned(id, "K", id))
		wantStatuses(t, id, rep, "p0:pending")
	}
	_, _ = d.Resume(context.Background(), "p0")
	rec, _ := fakes[0].Record("K")
	e1 := entryOf(t, d, "e1")
	if rec.EventID != "e2" || e1.State != synclayer.StatusStale || len(pendingOf(t, d)) != 0 {
		t.Fatalf("partner holds %s, e1 is %v, %d pending; want e2, e1 stale, none pending", rec.EventID, e1.State, len(pendingOf(t, d)))
	}
	store.set("e1", false)
	if _, err := d.Resume(context.Background(), "p0"); err != nil {
		t.Fatal(err)
	}
	if rec, _ := fakes[0].Record("K"); rec.EventID != "e2" {
		t.Fatalf("after a later drain the partner holds %s, want e2", rec.EventID)
	}
}
