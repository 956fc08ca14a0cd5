package synclayer_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/bus/memory"
	"github.com/hmsplatform/synclayer/synclayertest"
	"go.uber.org/goleak"
)

// gate is a connector that holds every push until released, then hands it
// to a Fake. The Fake refuses a push whose context has ended, so a push
// cancelled while held never reaches the partner, whichever comes first.
type gate struct {
	fake    *synclayertest.Fake
	entered chan struct{} // closed when the first push is held
	release chan struct{}
	once    sync.Once
}

func newGate() *gate {
	return &gate{fake: synclayertest.NewFake(), entered: make(chan struct{}), release: make(chan struct{})}
}

func (g *gate) Sync(ctx context.Context, rec synclayer.Record) error {
	g.once.Do(func() { close(g.entered) })
	select {
	case <-g.release:
	case <-ctx.Done():
	}
	return g.fake.Sync(ctx, rec)
}

// Rule 7: when Run's context ends, a push in flight is not cancelled: it
// finishes within the drain timeout, reaches the partner, is announced, and
// its event is acknowledged, not left for redelivery.
func TestRunDrainLetsInFlightPushFinish(t *testing.T) {
	defer goleak.VerifyNone(t)
	g := newGate()
	reg := new(synclayer.Registry)
	must(t, reg.Register("p", g, synclayer.Route("WorkflowDeployed", keyMapper), synclayer.WithRetry(fastRetry)))
	bus, err := memory.New(memory.WithRedeliveryDelay(time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	pub := &recordingPublisher{}
	// The drain timeout is far longer than the test: only a Run that cancels
	// its work at once could cut the push short.
	d := synclayertest.NewDispatcher(t, reg, synclayer.WithObserver(synclayer.NoObserver), synclayer.WithPublisher(pub),
		synclayer.WithDrainTimeout(time.Hour))

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	runErr := make(chan error, 1)
	go func() { runErr <- d.Run(ctx, bus) }()
	must(t, bus.Publish(t.Context(), event("e1", "K", 7)))
	select {
	case <-g.entered:
	case <-synclayertest.Within(t, 10*time.Second).Done():
		t.Fatal("the push never reached the connector")
	}

	cancel() // shutdown begins while the push is held
	close(g.release)
	select {
	case err := <-runErr:
		if err != nil {
			t.Fatalf("Run returned %v, want nil after its context ended", err)
		}
	case <-synclayertest.Within(t, 10*time.Second).Done():
		t.Fatal("Run did not return after the in-flight push was released")
	}

	calls := g.fake.Calls()
	if len(calls) != 1 || calls[0].Err != nil || !calls[0].Applied {
		t.Fatalf("calls = %+v; want one call that reached the partner", calls)
	}
	if rec, ok := g.fake.Record("K"); !ok || rec.Version != 7 || rec.EventID != "e1" {
		t.Fatalf("partner holds %+v (present %v); want K at v7 from e1", rec, ok)
	}
	// Acknowledged: nothing waits for redelivery, nothing is dead.
	if queued, inflight := bus.Pending(); len(queued) != 0 || inflight != 0 {
		t.Fatalf("pending after shutdown: %v and %d in flight; want e1 acknowledged", queued, inflight)
	}
	if dl := bus.DeadLetters(); len(dl) != 0 {
		t.Fatalf("dead letters %+v; want none", dl)
	}
	// Announced once, as completed.
	evs := pub.Events()
	if len(evs) != 1 || evs[0].Type != synclayer.SyncCompleted {
		t.Fatalf("announced %+v; want one SyncCompleted", evs)
	}
	var an synclayer.Announcement
	must(t, json.Unmarshal(evs[0].Data, &an))
	if an.EventID != "e1" || len(an.Results) != 1 || an.Results[0].Status != synclayer.StatusSynced {
		t.Fatalf("announcement %+v; want e1 synced", an)
	}
	// The dispatcher's own record of the route agrees.
	if st := d.Status(); len(st) != 1 || st[0].Synced != 1 || st[0].Failed != 0 || st[0].InFlight != 0 {
		t.Fatalf("status %+v; want p with one synced route", st)
	}
	must(t, bus.Close(t.Context()))
}
