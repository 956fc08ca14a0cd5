package synclayer_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/idempotency"
	"github.com/hmsplatform/synclayer/synclayertest"
)

// A held route that Run acknowledged on the bus has nothing but a drain to
// push it. A drain that leaves an entry pending for a reason that may pass
// (the store did not answer) while the connector is not held drains again
// later under the same Run, after a delay that grows while nothing moves,
// and no longer once the Run has ended.

// claimFails is a memory store whose Claim fails for the events marked
// failing (a store that went away), counting the claims of each event.
type claimFails struct {
	synclayer.Store
	mu      sync.Mutex
	failing map[string]bool
	claims  map[string]int
}

func newClaimFails() *claimFails {
	return &claimFails{Store: new(synclayer.MemoryStore), failing: map[string]bool{}, claims: map[string]int{}}
}

func (s *claimFails) Claim(ctx context.Context, c idempotency.Claim) (idempotency.ClaimResult, error) {
	s.mu.Lock()
	s.claims[c.EventID]++
	fail := s.failing[c.EventID]
	s.mu.Unlock()
	if fail {
		return idempotency.ClaimResult{}, errors.New("connection refused")
	}
	return s.Store.Claim(ctx, c)
}

func (s *claimFails) set(eventID string, fail bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failing[eventID] = fail
}

func (s *claimFails) claimsOf(eventID string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.claims[eventID]
}

// heldUnderRun starts Run on a dispatcher whose connector p0 is paused,
// over a claimFails store and a durable log, and hands Run event e1 of
// key K, which Run acknowledges as held. It returns the dispatcher, its
// fake, the store and the stop function of runHandler.
func heldUnderRun(t *testing.T) (*synclayer.Dispatcher, []*synclayertest.Fake, *claimFails, func()) {
	t.Helper()
	store := newClaimFails()
	d, fakes := pausedOnStore(t, store)
	h, stop := runHandler(t, d)
	if err := h(context.Background(), event("e1", "K", 1)); err != nil {
		stop()
		t.Fatalf("held route in a durable log: %v, want an ack", err)
	}
	return d, fakes, store, stop
}

// One blip of the store during Resume's drain: the entry is pushed a
// little later, with no new event, Resume or restart to start a drain.
func TestDrainLeftPendingIsRetriedUnderRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d, fakes, store, stop := heldUnderRun(t)
		defer stop()
		store.set("e1", true)
		res, _ := d.Resume(context.Background(), "p0")
		if len(res) != 1 || res[0].Status != synclayer.StatusFailed || !errors.Is(res[0].Err, synclayer.ErrStore) {
			t.Fatalf("Resume: %+v; want e1 failed by the store", res)
		}
		store.set("e1", false) // the store is back

		time.Sleep(time.Minute)
		synctest.Wait()
		if e := entryOf(t, d, "e1"); e.State != synclayer.StatusSynced {
			t.Fatalf("a minute after the store came back e1 is %v, want synced", e.State)
		}
		if _, ok := fakes[0].Record("K"); !ok {
			t.Fatalf("partner has no record of K")
		}
	})
}

// While the store stays away, the entry is tried again at growing
// intervals (no hot loop), and no more once Run has returned; with no Run
// (Dispatch and Resume alone) the caller's next Resume drains, as before.
func TestDrainRetryBacksOffAndEndsWithRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d, _, store, stopRun := heldUnderRun(t)
		var once sync.Once
		stop := func() { once.Do(stopRun) }
		defer stop()
		store.set("e1", true) // and it stays away
		_, _ = d.Resume(context.Background(), "p0")
		time.Sleep(10 * time.Minute)
		synctest.Wait()
		// Growing from a second to at most 30 s: about 25 tries in ten
		// minutes; a try per drain with no delay would be thousands.
		n := store.claimsOf("e1")
		t.Logf("e1 claimed %d times in ten minutes of Run", n)
		if n < 3 || n > 40 {
			t.Fatalf("e1 claimed %d times in ten minutes of Run, want a few retries at growing intervals", n)
		}
		stop()
		time.Sleep(10 * time.Minute)
		synctest.Wait()
		if m := store.claimsOf("e1"); m != n {
			t.Fatalf("e1 claimed %d more times after Run returned, want none", m-n)
		}
		if e := entryOf(t, d, "e1"); e.State != synclayer.StatusPending {
			t.Fatalf("e1 is %v, want pending for the next Run", e.State)
		}

		// No Run: the failed drain is not tried again by itself.
		_, _ = d.Resume(context.Background(), "p0")
		n = store.claimsOf("e1")
		time.Sleep(10 * time.Minute)
		synctest.Wait()
		if m := store.claimsOf("e1"); m != n {
			t.Fatalf("with no Run, e1 claimed %d more times after Resume, want none", m-n)
		}
	})
}
