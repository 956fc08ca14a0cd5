package synclayer_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/synclayertest"
)

// The Dispatcher writes the ledger after every push, and marks a key
// wanted when its route fails or is held, until a push brings it there.
func TestLedgerFollowsPushes(t *testing.T) {
	d, fakes := newFakeDispatcher(t, 1)
	ctx := t.Context()
	if _, err := d.Dispatch(ctx, event("e1", "K1", 3)); err != nil {
		t.Fatal(err)
	}
	h, ok, err := d.Holding(ctx, "p0", "K1")
	if err != nil || !ok {
		t.Fatalf("Holding: %v, %v", ok, err)
	}
	if h.Version != 3 || h.EventID != "e1" || len(h.Hash) != 64 || h.PushedAt.IsZero() || h.Behind() {
		t.Fatalf("after a push: %+v", h)
	}

	fakes[0].Inject(synclayertest.Fault{Key: "K1", Err: synclayer.Permanent(errors.New("422 rejected")), Times: 1})
	if _, err := d.Dispatch(ctx, event("e2", "K1", 4)); err == nil {
		t.Fatal("the failing push succeeded")
	}
	h, _, _ = d.Holding(ctx, "p0", "K1")
	if h.Version != 3 || h.Wanted != 4 || h.WantedAt.IsZero() || !h.Behind() {
		t.Fatalf("after a failed push of version 4: %+v", h)
	}

	must(t, d.Pause("p0"))
	if _, err := d.Dispatch(ctx, event("e3", "K1", 5)); err != nil {
		t.Fatal(err)
	}
	h, _, _ = d.Holding(ctx, "p0", "K1")
	if h.Wanted != 5 || !h.Behind() {
		t.Fatalf("after a held push of version 5: %+v", h)
	}
	if _, err := d.Resume(ctx, "p0"); err != nil {
		t.Fatal(err)
	}
	h, _, _ = d.Holding(ctx, "p0", "K1")
	if h.Version != 5 || h.EventID != "e3" || h.Wanted != 0 || h.Behind() {
		t.Fatalf("after Resume pushed version 5: %+v", h)
	}
	if _, ok, err := d.Holding(ctx, "p0", "never"); ok || err != nil {
		t.Fatalf("Holding of an unknown key: %v, %v", ok, err)
	}
}

func TestNoLedger(t *testing.T) {
	reg, _ := newFakes(t, 1)
	d := synclayertest.NewDispatcher(t, reg, synclayer.WithObserver(synclayer.NoObserver), synclayer.WithLedger(synclayer.NoLedger))
	if _, err := d.Dispatch(t.Context(), event("e1", "K1", 1)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := d.Holding(t.Context(), "p0", "K1"); err == nil || !strings.Contains(err.Error(), "no freshness ledger") || d.Ledger() != nil {
		t.Fatalf("Holding with the ledger off: %v, Ledger() %v; want the no-ledger error and a nil Ledger", err, d.Ledger())
	}
	if d.Ledger() != nil {
		t.Fatal("Ledger() is not nil with the ledger off")
	}
}

// ledgerStore is the MemoryStore, which keeps the ledger itself, counting
// the Pushed calls the Dispatcher must not make.
type ledgerStore struct {
	*synclayer.MemoryStore
	mu     sync.Mutex
	pushed int
}

func (s *ledgerStore) Pushed(ctx context.Context, h synclayer.Holding) error {
	s.mu.Lock()
	s.pushed++
	s.mu.Unlock()
	return s.MemoryStore.Pushed(ctx, h)
}

func TestAStoreThatIsALedgerWritesItWithComplete(t *testing.T) {
	reg, _ := newFakes(t, 1)
	store := &ledgerStore{MemoryStore: new(synclayer.MemoryStore)}
	d := synclayertest.NewDispatcher(t, reg, synclayer.WithObserver(synclayer.NoObserver), synclayer.WithStore(store))
	if _, err := d.Dispatch(t.Context(), event("e1", "K1", 2)); err != nil {
		t.Fatal(err)
	}
	if d.Ledger() != synclayer.Ledger(store) {
		t.Fatal("the Dispatcher's ledger is not its store")
	}
	h, ok, err := d.Holding(t.Context(), "p0", "K1")
	if err != nil || !ok || h.Version != 2 || h.EventID != "e1" || len(h.Hash) != 64 || h.PushedAt.IsZero() {
		t.Fatalf("Holding: %+v, %v, %v", h, ok, err)
	}
	if store.pushed != 0 {
		t.Fatalf("the Dispatcher called Pushed %d times on a store that writes the ledger with Complete", store.pushed)
	}
	// The store's own namespaces get no entry.
	if _, ok, _ := store.Holding(t.Context(), "$announce", "e1"); ok {
		t.Fatal("an announcement has a ledger entry")
	}

	// A ledger given with WithLedger is the one written, after Complete.
	other := new(synclayer.MemoryStore)
	d2 := synclayertest.NewDispatcher(t, reg, synclayer.WithObserver(synclayer.NoObserver), synclayer.WithStore(store), synclayer.WithLedger(other))
	if _, err := d2.Dispatch(t.Context(), event("e2", "K1", 3)); err != nil {
		t.Fatal(err)
	}
	if h, ok, _ := other.Holding(t.Context(), "p0", "K1"); !ok || h.Version != 3 || h.EventID != "e2" {
		t.Fatalf("WithLedger's ledger after a push: %+v, %v", h, ok)
	}
}

var t0 = time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)

func TestMemoryStoreLedgerSummary(t *testing.T) {
	var l synclayer.MemoryStore
	ctx := t.Context()
	must(t, l.Pushed(ctx, synclayer.Holding{Connector: "c", Key: "a", Version: 2, PushedAt: t0}))
	must(t, l.Pushed(ctx, synclayer.Holding{Connector: "c", Key: "b", Version: 1, PushedAt: t0.Add(1)}))
	must(t, l.Pushed(ctx, synclayer.Holding{Connector: "c", Key: "a", Version: 1, EventID: "late"})) // older: ignored
	must(t, l.Want(ctx, "c", "b", 3))
	must(t, l.Verified(ctx, "c", "a", t0.Add(2), synclayer.InSync))
	must(t, l.Pushed(ctx, synclayer.Holding{Connector: "other", Key: "z", Version: 1}))
	s, err := l.Summary(ctx, "c")
	if err != nil {
		t.Fatal(err)
	}
	want := synclayer.LedgerSummary{Connector: "c", Keys: 2, Behind: 1, Unverified: 1, OldestUnverified: "b", OldestUnverifiedAt: t0.Add(1)}
	got := s
	got.OldestBehindAt = want.OldestBehindAt // set by Want's clock
	if got.OldestUnverifiedAt.Equal(want.OldestUnverifiedAt) {
		got.OldestUnverifiedAt = want.OldestUnverifiedAt // the store's clock adds a monotonic reading
	}
	if got != want || s.OldestBehindAt.IsZero() {
		t.Fatalf("summary %+v, want %+v", s, want)
	}
	page, err := l.Holdings(ctx, "c", "a", 10)
	if err != nil || len(page) != 1 || page[0].Key != "b" {
		t.Fatalf("Holdings after a: %+v, %v", page, err)
	}
	if h, _, _ := l.Holding(ctx, "c", "a"); h.Version != 2 || h.EventID != "" {
		t.Fatalf("a late older push changed the entry: %+v", h)
	}
}
