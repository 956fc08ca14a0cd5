package synclayer_test

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/bus/memory"
	"github.com/hmsplatform/synclayer/synclayertest"
	"go.uber.org/goleak"
)

// runHeld starts Run in a synctest bubble over a subscriber that hands one
// event to the handler on a goroutine of its own, and returns as soon as
// Run's context ends, without waiting for that handler (as a careless bus
// adapter might). The event's push is held by a gate. It returns Run's
// result channel, the handler's, the gate and the cancel func.
func runHeld(t *testing.T, opts ...synclayer.Option) (runErr, handled chan error, g *gate, cancel context.CancelFunc) {
	g = newGate()
	reg := new(synclayer.Registry)
	must(t, reg.Register("p", g, synclayer.Route("WorkflowDeployed", keyMapper), synclayer.WithRetry(synclayer.RetryPolicy{MaxAttempts: 1}), synclayer.WithTimeout(time.Hour)))
	d := synclayertest.NewDispatcher(t, reg, append([]synclayer.Option{synclayer.WithObserver(synclayer.NoObserver)}, opts...)...)
	ctx, cancel := context.WithCancel(t.Context())
	runErr, handled = make(chan error, 1), make(chan error, 1)
	go func() {
		runErr <- d.Run(ctx, subscriberFunc(func(ctx context.Context, _ []string, h func(context.Context, synclayer.Event) error) error {
			go func() { handled <- h(context.WithoutCancel(ctx), event("e1", "K", 0)) }()
			<-ctx.Done()
			return ctx.Err()
		}))
	}()
	<-g.entered
	return runErr, handled, g, cancel
}

// Run returns only after every handler it started has returned, even when
// the subscriber returns first.
func TestRunWaitsForHandlersTheSubscriberLeft(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		runErr, handled, g, cancel := runHeld(t, synclayer.WithDrainTimeout(time.Hour))
		cancel()
		synctest.Wait()
		select {
		case err := <-runErr:
			t.Fatalf("Run returned %v while its handler was still pushing", err)
		default:
		}
		close(g.release)
		if err := <-handled; err != nil {
			t.Fatalf("handler returned %v, want nil: the push finished within the drain timeout", err)
		}
		if err := <-runErr; err != nil {
			t.Fatalf("Run returned %v, want nil", err)
		}
		if _, ok := g.fake.Record("K"); !ok {
			t.Fatal("the drained push did not reach the partner")
		}
	})
}

// The drain timeout is 30 seconds by default (zero means the default), and
// a tiny one cancels the work in flight as soon as Run's context ends. The
// cancelled event is handed back for redelivery.
func TestRunDrainTimeoutDefaultAndZero(t *testing.T) {
	for _, c := range []struct {
		name string
		opts []synclayer.Option
		want time.Duration
	}{
		{"default", nil, 30 * time.Second},
		{"zero means the default", []synclayer.Option{synclayer.WithDrainTimeout(0)}, 30 * time.Second},
		{"one nanosecond", []synclayer.Option{synclayer.WithDrainTimeout(time.Nanosecond)}, time.Nanosecond},
	} {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				runErr, handled, g, cancel := runHeld(t, c.opts...)
				start := time.Now()
				cancel()
				err := <-handled // the held push never finishes by itself
				if took := time.Since(start); took != c.want {
					t.Fatalf("the push was cancelled %v after Run's context ended, want %v", took, c.want)
				}
				if !errors.Is(err, context.Canceled) || synclayer.IsPermanent(err) {
					t.Fatalf("handler returned %v, want a transient context.Canceled (redeliver)", err)
				}
				if err := <-runErr; err != nil {
					t.Fatalf("Run returned %v, want nil", err)
				}
				if _, ok := g.fake.Record("K"); ok {
					t.Fatal("the cancelled push reached the partner")
				}
			})
		})
	}
}

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

// Two Runs of one dispatcher overlap (a subscriber restarted, or one per
// bus): the end of the first does not take the second's background work
// with it. A breaker that opens under the second Run after the first
// returned still probes, and the route it held reaches the partner.
func TestRunEndingLeavesAnOverlappingRunsWork(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fake, d := breakerOnDurableLog(t)
		_, stop1 := runHandler(t, d)
		h2, stop2 := runHandler(t, d)
		defer stop2()
		stop1()

		ctx := context.Background()
		fake.Inject(synclayertest.Fault{Err: errors.New("503")})
		if err := h2(ctx, event("f", "F", 0)); err == nil {
			t.Fatal("the failing push was acknowledged")
		}
		if st := d.Status()[0]; st.Breaker != synclayer.BreakerOpen {
			t.Fatalf("breaker %v, want open", st.Breaker)
		}
		if err := h2(ctx, event("p", "P", 0)); err != nil { // held, in a durable log
			t.Fatal(err)
		}
		if _, ok := fake.Record("P"); ok {
			t.Fatal("a held route reached the partner while the breaker was open")
		}
		time.Sleep(11 * time.Second) // past OpenFor: the breaker probes with the held route
		synctest.Wait()
		if _, ok := fake.Record("P"); !ok {
			t.Fatal("the held route was not pushed once the breaker could probe")
		}
		if st := d.Status()[0]; st.Breaker != synclayer.BreakerClosed {
			t.Fatalf("breaker %v after a good probe, want closed", st.Breaker)
		}
	})
}
