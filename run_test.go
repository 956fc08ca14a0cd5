package synclayer_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/bus/memory"
	"github.com/hmsplatform/synclayer/synclayertest"
	"go.uber.org/goleak"
)

// Rule 7: Run consumes until its context ends, drains, and leaks nothing.
func TestRunConsumesAndShutsDownCleanly(t *testing.T) {
	defer goleak.VerifyNone(t)
	reg, fakes := newFakes(t, 3)
	bus, err := memory.New(memory.WithRedeliveryDelay(time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	d := synclayertest.NewDispatcher(t, reg, synclayer.WithObserver(synclayer.NoObserver), synclayer.WithPublisher(bus))

	ctx, cancel := context.WithCancel(t.Context())
	runErr := make(chan error, 1)
	go func() { runErr <- d.Run(ctx, bus) }()

	completed := make(chan synclayer.Event, 100)
	watchCtx, stopWatch := context.WithCancel(t.Context())
	watchDone := make(chan error, 1)
	go func() {
		watchDone <- bus.Subscribe(watchCtx, []string{synclayer.SyncCompleted}, func(_ context.Context, ev synclayer.Event) error {
			completed <- ev
			return nil
		})
	}()

	const n = 50
	for i := range n {
		must(t, bus.Publish(t.Context(), event(fmt.Sprint("e", i), fmt.Sprint("K", i%10), int64(i+1))))
	}
	deadline := time.After(10 * time.Second)
	for range n {
		select {
		case <-completed:
		case <-deadline:
			t.Fatal("timed out waiting for SyncCompleted")
		}
	}
	cancel()
	if err := <-runErr; err != nil {
		t.Fatalf("Run returned %v, want nil after its context ended", err)
	}
	stopWatch()
	if err := <-watchDone; err != nil {
		t.Fatal(err)
	}
	for i, f := range fakes {
		if got := len(f.Records()); got != 10 {
			t.Errorf("p%d holds %d records, want 10", i, got)
		}
		for k, rec := range f.Records() {
			var maxV int64
			for i := range n {
				if fmt.Sprint("K", i%10) == k {
					maxV = int64(i + 1)
				}
			}
			if rec.Version != maxV {
				t.Errorf("p%d %s holds v%d, want the newest v%d", i, k, rec.Version, maxV)
			}
		}
	}
	if err := bus.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
}

func TestRunDrainsInFlightThenCancelsAfterTimeout(t *testing.T) {
	defer goleak.VerifyNone(t)
	reg, fakes := newFakes(t, 1)
	release := fakes[0].Hold()
	defer release()
	bus, err := memory.New()
	if err != nil {
		t.Fatal(err)
	}
	d := synclayertest.NewDispatcher(t, reg, synclayer.WithObserver(synclayer.NoObserver), synclayer.WithDrainTimeout(50*time.Millisecond))
	ctx, cancel := context.WithCancel(t.Context())
	runErr := make(chan error, 1)
	go func() { runErr <- d.Run(ctx, bus) }()
	must(t, bus.Publish(t.Context(), event("e1", "K", 0)))
	if err := fakes[0].WaitInFlight(synclayertest.Within(t, 5*time.Second), 1); err != nil {
		t.Fatal(err)
	}
	cancel()
	// The held push never finishes by itself; the drain timeout cancels it.
	select {
	case err := <-runErr:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after the drain timeout")
	}
	calls := fakes[0].Calls()
	if len(calls) != 1 || !errors.Is(calls[0].Err, context.Canceled) || calls[0].Applied {
		t.Fatalf("calls = %+v; want one call cancelled by the drain timeout", calls)
	}
	// The event was not acknowledged: it waits for the next consumer.
	queued, _ := bus.Pending()
	if len(queued) != 1 || queued[0].ID != "e1" {
		t.Fatalf("pending after shutdown = %v, want e1 back in the queue", queued)
	}
	release()
	// A new Run picks it up.
	ctx2, cancel2 := context.WithCancel(t.Context())
	go func() { runErr <- d.Run(ctx2, bus) }()
	if err := fakes[0].WaitCalls(synclayertest.Within(t, 10*time.Second), 2); err != nil {
		t.Fatal(err)
	}
	if err := fakes[0].WaitInFlight(synclayertest.Within(t, 5*time.Second), 0); err != nil {
		t.Fatal(err)
	}
	cancel2()
	if err := <-runErr; err != nil {
		t.Fatal(err)
	}
	if _, ok := fakes[0].Record("K"); !ok {
		t.Fatal("the redelivered event did not reach the partner")
	}
	if err := bus.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
}

func TestRunDeadLettersFinalFailures(t *testing.T) {
	defer goleak.VerifyNone(t)
	reg, fakes := newFakes(t, 2)
	fakes[1].Inject(synclayertest.Fault{Key: "K", Times: -1, Err: synclayer.Permanent(errors.New("400 invalid title"))})
	bus, err := memory.New(memory.WithRedeliveryDelay(time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	d := synclayertest.NewDispatcher(t, reg, synclayer.WithObserver(synclayer.NoObserver))
	ctx, cancel := context.WithCancel(t.Context())
	runErr := make(chan error, 1)
	go func() { runErr <- d.Run(ctx, bus) }()
	must(t, bus.Publish(t.Context(), synclayer.Event{ID: "bad", Type: "WorkflowDeployed", Subject: "K", Data: json.RawMessage(`{}`)}))
	must(t, bus.Publish(t.Context(), event("good", "K2", 0)))
	waitUntil(t, func() bool {
		return len(bus.DeadLetters()) == 1 && fakes[0].CallCount() == 2 && fakes[1].CallCount() == 2
	})
	cancel()
	must(t, <-runErr)
	dl := bus.DeadLetters()[0]
	if dl.Event.ID != "bad" || dl.Deliveries != 1 || !synclayer.IsPermanent(dl.Err) {
		t.Fatalf("dead letter = %+v; want event bad, dead-lettered at once", dl)
	}
	if fakes[1].CallCount() != 2 {
		t.Fatalf("p1 called %d times, want 2 (once per event, never redelivered)", fakes[1].CallCount())
	}
}

func TestRunRejectsEmptySetup(t *testing.T) {
	d := synclayertest.NewDispatcher(t, new(synclayer.Registry), synclayer.WithObserver(synclayer.NoObserver))
	bus, err := memory.New()
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Run(t.Context(), bus); err == nil {
		t.Fatal("Run with no routes should fail")
	}
	if err := d.Run(t.Context(), nil); err == nil {
		t.Fatal("Run with a nil subscriber should fail")
	}
}

// waitUntil polls cond until it holds or 10 seconds pass.
func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached within 10s")
		}
		time.Sleep(time.Millisecond)
	}
}
