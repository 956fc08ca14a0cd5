package synclayer_test

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/idempotency"
	"github.com/hmsplatform/synclayer/synclayertest"
)

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
