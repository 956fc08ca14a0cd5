package synclayer_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/idempotency"
	"github.com/hmsplatform/synclayer/synclayertest"
)

// loggingStore is a Store that writes the delivery log with Complete, as
// sqlstore does when store and log share a database; accept says whether
// it takes the log it is given.
type loggingStore struct {
	synclayer.Store
	accept bool
	calls  atomic.Int32
}

func (s *loggingStore) CompleteLogged(ctx context.Context, c idempotency.Claim, token string, log synclayer.DeliveryLog, d synclayer.Delivery) (bool, error) {
	s.calls.Add(1)
	if !s.accept {
		return false, nil
	}
	if err := s.Complete(ctx, c, token); err != nil {
		return false, err
	}
	return true, log.Put(ctx, d)
}

// The end of a push goes through CompleteLogged when the store offers it,
// and through Complete and Put when it declines; either way the log and
// the watchers see the synced entry once.
func TestCompleteLoggedIsUsedWhenOffered(t *testing.T) {
	for _, accept := range []bool{true, false} {
		store := &loggingStore{Store: new(synclayer.MemoryStore), accept: accept}
		reg, fakes := newFakes(t, 1)
		log := new(synclayer.MemoryLog)
		d := synclayertest.NewDispatcher(t, reg, synclayer.WithObserver(synclayer.NoObserver), synclayer.WithStore(store), synclayer.WithDeliveryLog(log))
		var seen atomic.Int32
		stop := d.Watch(func(dl synclayer.Delivery) {
			if dl.State == synclayer.StatusSynced {
				seen.Add(1)
			}
		})
		if _, err := d.Dispatch(t.Context(), event("e1", "K", 1)); err != nil {
			t.Fatal(err)
		}
		stop()
		got, _ := log.List(t.Context(), synclayer.DeliveryFilter{EventID: "e1", Connector: "p0"})
		if store.calls.Load() != 1 || len(got) != 1 || got[0].State != synclayer.StatusSynced || seen.Load() != 1 || fakes[0].CallCount() != 1 {
			t.Fatalf("accept=%v: %d CompleteLogged calls, log %+v, %d watcher calls, %d pushes", accept, store.calls.Load(), got, seen.Load(), fakes[0].CallCount())
		}
		// The done-marker was written either way.
		if rep, _ := d.Dispatch(t.Context(), event("e1", "K", 1)); rep.Results[0].Status != synclayer.StatusDuplicate {
			t.Fatalf("accept=%v: redelivery %v", accept, statuses(rep))
		}
	}
}
