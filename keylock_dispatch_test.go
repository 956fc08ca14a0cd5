package synclayer_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"testing/synctest"

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
