package synclayer_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/idempotency"
	"github.com/hmsplatform/synclayer/synclayertest"
)

// Rule 8: the memory store forgets what expired and stays within its bound.
func TestMemoryStoreExpiresDoneMarkersAndLeases(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := new(synclayer.MemoryStore)
		ctx := t.Context()
		c := idempotency.Claim{Connector: "p", Key: "K", EventID: "e1", LeaseTTL: time.Minute, Retention: time.Hour}
		cr, err := s.Claim(ctx, c)
		if err != nil || cr.Status != idempotency.ClaimAcquired {
			t.Fatalf("first claim: %v, %v", cr, err)
		}
		// A crashed holder never releases: the lease blocks until it expires.
		c2 := c
		c2.EventID = "e2"
		if cr, _ := s.Claim(ctx, c2); cr.Status != idempotency.ClaimBusy {
			t.Fatalf("claim while leased = %v, want busy", cr.Status)
		}
		time.Sleep(time.Minute)
		cr2, err := s.Claim(ctx, c2)
		if err != nil || cr2.Status != idempotency.ClaimAcquired {
			t.Fatalf("claim after lease expiry = %v, %v; want acquired", cr2.Status, err)
		}
		must(t, s.Complete(ctx, c2, cr2.Token))
		if cr, _ := s.Claim(ctx, c2); cr.Status != idempotency.ClaimDone {
			t.Fatalf("claim of a completed event = %v, want done", cr.Status)
		}
		time.Sleep(time.Hour + time.Second)
		if cr, _ := s.Claim(ctx, c2); cr.Status != idempotency.ClaimAcquired {
			t.Fatalf("claim after retention = %v, want acquired (the marker expired)", cr.Status)
		}
	})
}

func TestMemoryStoreBoundedUnderUniqueEvents(t *testing.T) {
	const bound = 2048
	reg, _ := newFakes(t, 1)
	s := &synclayer.MemoryStore{MaxEntries: bound}
	d := synclayertest.NewDispatcher(t, reg, synclayer.WithObserver(synclayer.NoObserver), synclayer.WithStore(s))
	n := 50_000
	if testing.Short() {
		n = 10_000
	}
	for i := range n {
		if _, err := d.Dispatch(t.Context(), event(fmt.Sprint("e", i), fmt.Sprint("K", i), 1)); err != nil {
			t.Fatal(err)
		}
	}
	done, versions, leases := s.Len()
	if done > bound+32 || versions > bound+32 || leases != 0 {
		t.Fatalf("after %d unique events: %d done-markers, %d versions, %d leases; want each within %d and no lease left", n, done, versions, leases, bound)
	}
	// The newest are kept: the last event is still a duplicate.
	rep, _ := d.Dispatch(t.Context(), event(fmt.Sprint("e", n-1), fmt.Sprint("K", n-1), 1))
	if rep.Results[0].Status != synclayer.StatusDuplicate {
		t.Fatalf("newest event after eviction: %v, want duplicate", rep.Results[0].Status)
	}
}

// endingStore ends the dispatch's context during the first Complete, which
// then fails with the context's error: the push happened, but the caller
// went away while it was being recorded.
type endingStore struct {
	synclayer.Store
	cancel context.CancelFunc
	once   sync.Once
}

func (s *endingStore) Complete(ctx context.Context, c idempotency.Claim, token string) error {
	ended := false
	s.once.Do(func() { s.cancel(); ended = true })
	if ended {
		return ctx.Err()
	}
	return s.Store.Complete(ctx, c, token)
}

// A push whose dispatch ends while its outcome is being recorded is still
// recorded: a redelivery of the event is a duplicate, not a second push.
func TestPushRecordedWhenDispatchEndsDuringComplete(t *testing.T) {
	fake := synclayertest.NewFake()
	reg := new(synclayer.Registry)
	must(t, reg.Register("p", fake, synclayer.Route("WorkflowDeployed", keyMapper)))
	ctx, cancel := context.WithCancel(t.Context())
	d := synclayertest.NewDispatcher(t, reg, synclayer.WithObserver(synclayer.NoObserver),
		synclayer.WithStore(&endingStore{Store: new(synclayer.MemoryStore), cancel: cancel}))
	rep, err := d.Dispatch(ctx, event("e1", "K", 1))
	if ctx.Err() == nil {
		t.Fatal("the store did not end the dispatch's context")
	}
	if err != nil || rep.Results[0].Status != synclayer.StatusSynced {
		t.Fatalf("%v, %v; want synced: the push happened and was recorded after all", rep.Results[0].Status, err)
	}
	rep, err = d.Dispatch(t.Context(), event("e1", "K", 1))
	if err != nil || rep.Results[0].Status != synclayer.StatusDuplicate || fake.CallCount() != 1 {
		t.Fatalf("redelivery: %v, %v after %d pushes; want duplicate after 1", rep.Results[0].Status, err, fake.CallCount())
	}
}

// The connector's counters: every call is an attempt, every call after the
// first of a route is a retry, and nothing stays in flight.
func TestAttemptAndRetryCounters(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fake := synclayertest.NewFake()
		fake.Inject(synclayertest.Fault{Key: "K1", Times: 3})
		d := oneConnector(t, fake, synclayer.WithRetry(synclayer.RetryPolicy{InitialInterval: time.Second, Jitter: -1}))
		for _, key := range []string{"K1", "K2"} {
			if _, err := d.Dispatch(t.Context(), event("e-"+key, key, 0)); err != nil {
				t.Fatal(err)
			}
		}
		st := d.Status()[0]
		if st.Attempts != 5 || st.Retries != 3 || st.Synced != 2 || st.InFlight != 0 {
			t.Fatalf("status %+v; want 5 attempts, 3 retries, 2 synced, none in flight", st)
		}
	})
}

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

// A retention of zero keeps the default (days), like every other zero
// option: a redelivery is reported Duplicate and not pushed again. A
// positive retention is kept as given. (A negative one is refused by
// NewDispatcher: TestDispatcherOptionRule.)
func TestRetentionZeroKeepsTheDefault(t *testing.T) {
	for _, r := range []time.Duration{0, time.Hour} {
		t.Run(r.String(), func(t *testing.T) {
			reg, fakes := newFakes(t, 1)
			d := synclayertest.NewDispatcher(t, reg, synclayer.WithObserver(synclayer.NoObserver), synclayer.WithRetention(r))
			ctx := context.Background()
			var got []string
			for range 2 { // the event, then its redelivery
				rep, err := d.Dispatch(ctx, event("e1", "K1", 0))
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, statuses(rep)...)
			}
			if want := "[p0:synced p0:duplicate]"; fmt.Sprint(got) != want {
				t.Fatalf("statuses %v, want %s", got, want)
			}
			if n := fakes[0].Writes("K1"); n != 1 {
				t.Fatalf("%d pushes of one event, want 1", n)
			}
		})
	}
}
