package synclayer_test

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/idempotency"
	"github.com/hmsplatform/synclayer/synclayertest"
)

// A key leased by another process (a claim on the shared store that this
// dispatcher did not make) is not pushed while the lease lives. When the
// other process finishes, the dispatch goes on and sees what it did; when
// the other process died, the dispatch pushes once the lease has expired,
// not before.
//
// Dispatch waits for such a key; Run may hand the event back to the bus
// instead (a busy key).
func TestDispatchWaitsForAnotherProcessLease(t *testing.T) {
	const ttl = time.Minute
	setup := func(t *testing.T) (*synclayer.MemoryStore, *synclayertest.Fake, *synclayer.Dispatcher) {
		store := new(synclayer.MemoryStore)
		fake := synclayertest.NewFake()
		reg := new(synclayer.Registry)
		must(t, reg.Register("p", fake, synclayer.Route("WorkflowDeployed", keyMapper)))
		return store, fake, synclayertest.NewDispatcher(t, reg, synclayer.WithObserver(synclayer.NoObserver), synclayer.WithStore(store))
	}
	other := idempotency.Claim{Connector: "p", Key: "K", EventID: "other-v2", Version: 2, LeaseTTL: ttl, Retention: time.Hour}

	t.Run("other finishes", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			store, fake, d := setup(t)
			cr := mustClaim(t, store, other, idempotency.ClaimAcquired)
			expires := time.Now().Add(ttl)
			done := make(chan synclayer.Report, 1)
			go func() {
				rep, _ := d.Dispatch(t.Context(), event("e1", "K", 1))
				done <- rep
			}()
			time.Sleep(ttl / 2)
			synctest.Wait()
			if n := fake.CallCount(); n != 0 {
				t.Fatalf("%d pushes while another process held the key", n)
			}
			must(t, store.Complete(t.Context(), other, cr.Token)) // it pushed v2
			rep := <-done
			if !time.Now().Before(expires) {
				t.Fatalf("the dispatch went on at %v, when the finished lease would have expired; want soon after the other process finished", time.Now())
			}
			if s := rep.Results[0].Status; s != synclayer.StatusStale || fake.CallCount() != 0 {
				t.Fatalf("after the other process pushed v2: %v with %d pushes; want stale, no push", s, fake.CallCount())
			}
		})
	})
	t.Run("other died", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			store, fake, d := setup(t)
			mustClaim(t, store, other, idempotency.ClaimAcquired) // never completed nor released
			start := time.Now()
			rep, err := d.Dispatch(t.Context(), event("e3", "K", 3))
			if err != nil || rep.Results[0].Status != synclayer.StatusSynced {
				t.Fatalf("%v, %v; want synced once the lease expired", rep.Results[0].Status, err)
			}
			// The busy claim says when the lease ends; the dispatch goes then.
			if waited := time.Since(start); waited != ttl {
				t.Fatalf("pushed after %v, want when the lease of %v expired", waited, ttl)
			}
			if calls := fake.Calls(); len(calls) != 1 || calls[0].Version != 3 {
				t.Fatalf("calls %+v, want one push of v3", calls)
			}
		})
	})
}
