package synclayer_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/bus/memory"
	"github.com/hmsplatform/synclayer/idempotency"
	"github.com/hmsplatform/synclayer/internal/testwait"
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
	nilWithin(t, runErr, 10*time.Second, "Run did not return after the drain timeout")
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
	testwait.For(t, 10*time.Second, func() string {
		return fmt.Sprintf("one dead letter and two calls to each fake; got %d dead letters, p0 called %d times, p1 %d",
			len(bus.DeadLetters()), fakes[0].CallCount(), fakes[1].CallCount())
	}, func() bool {
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

// subscriberFunc is a Subscriber made of a function, to drive Run's handler
// by hand.
type subscriberFunc func(ctx context.Context, types []string, h func(context.Context, synclayer.Event) error) error

func (f subscriberFunc) Subscribe(ctx context.Context, types []string, h func(context.Context, synclayer.Event) error) error {
	return f(ctx, types, h)
}

// The handler Run gives the bus acknowledges an event whose routes all
// finished, dead-letters one that failed for good, and asks for a
// redelivery when a route may still succeed or the announcement is missing.
func TestRunHandlerAcksRedeliversOrDeadLetters(t *testing.T) {
	reg, fakes := newFakes(t, 2, synclayer.WithRetry(synclayer.RetryPolicy{MaxAttempts: 1}))
	pub := &recordingPublisher{}
	d := synclayertest.NewDispatcher(t, reg, synclayer.WithObserver(synclayer.NoObserver), synclayer.WithPublisher(pub))

	var got []error
	var types []string
	ctx, cancel := context.WithCancel(t.Context())
	sub := subscriberFunc(func(_ context.Context, ts []string, h func(context.Context, synclayer.Event) error) error {
		types = ts
		hctx := t.Context()
		got = append(got, h(hctx, event("ok", "K1", 0)))

		fakes[1].Inject(synclayertest.Fault{Key: "K2", Err: synclayer.Permanent(errors.New("400 bad title"))})
		got = append(got, h(hctx, event("bad", "K2", 0)))

		// The last attempt fails: the policy gives up, for good.
		fakes[1].Inject(synclayertest.Fault{Key: "K3"})
		got = append(got, h(hctx, event("spent", "K3", 0)))

		// The announcement cannot be published: redeliver to publish it.
		pub.mu.Lock()
		pub.failing = errors.New("bus down")
		pub.mu.Unlock()
		got = append(got, h(hctx, event("unannounced", "K4", 0)))
		pub.mu.Lock()
		pub.failing = nil
		pub.mu.Unlock()
		cancel()
		return ctx.Err()
	})
	if err := d.Run(ctx, sub); err != nil {
		t.Fatalf("Run returned %v, want nil after its context ended", err)
	}
	if len(types) != 1 || types[0] != "WorkflowDeployed" {
		t.Fatalf("subscribed to %v, want [WorkflowDeployed]", types)
	}
	for i, c := range []struct {
		id        string
		ok        bool // acknowledged
		permanent bool // dead-lettered
		say       string
	}{
		{"ok", true, false, ""},
		{"bad", false, true, "400 bad title"},
		{"spent", false, true, "gave up after 1 attempts"},
		{"unannounced", false, false, "bus down"},
	} {
		err := got[i]
		switch {
		case c.ok && err != nil:
			t.Errorf("%s: handler returned %v, want nil (acknowledge)", c.id, err)
		case !c.ok && (err == nil || synclayer.IsPermanent(err) != c.permanent || !strings.Contains(err.Error(), c.say)):
			t.Errorf("%s: handler returned %v (permanent %v); want an error saying %q, permanent %v", c.id, err, synclayer.IsPermanent(err), c.say, c.permanent)
		}
	}
}

// A route that did not finish because the store failed is redelivered, not
// dead-lettered, though it made no attempt.
func TestRunHandlerRedeliversStoreFailures(t *testing.T) {
	reg, fakes := newFakes(t, 1)
	d := synclayertest.NewDispatcher(t, reg, synclayer.WithObserver(synclayer.NoObserver), synclayer.WithStore(failingStore{}))
	ctx, cancel := context.WithCancel(t.Context())
	var err error
	sub := subscriberFunc(func(_ context.Context, _ []string, h func(context.Context, synclayer.Event) error) error {
		err = h(t.Context(), event("e1", "K", 0))
		cancel()
		return nil
	})
	if rerr := d.Run(ctx, sub); rerr != nil {
		t.Fatal(rerr)
	}
	if err == nil || synclayer.IsPermanent(err) || !errors.Is(err, synclayer.ErrStore) {
		t.Fatalf("handler returned %v; want a transient ErrStore", err)
	}
	if fakes[0].CallCount() != 0 {
		t.Fatal("pushed without a claim")
	}
}

// failingStore fails every call.
type failingStore struct{}

var errStoreDown = errors.New("store down")

func (failingStore) Claim(context.Context, idempotency.Claim) (idempotency.ClaimResult, error) {
	return idempotency.ClaimResult{}, errStoreDown
}
func (failingStore) Complete(context.Context, idempotency.Claim, string) error { return errStoreDown }
func (failingStore) Release(context.Context, idempotency.Claim, string) error  { return errStoreDown }

// Run returns nil after a shutdown, the bus's error when the bus fails, and
// an error when the subscriber returns while it should still run. A handler
// called after Subscribe returned is refused.
func TestRunReturnsWhatTheBusSays(t *testing.T) {
	d, fakes := newFakeDispatcher(t, 1)
	errBus := errors.New("connection refused")
	for _, c := range []struct {
		name   string
		cancel bool  // end Run's context before returning
		ret    error // what Subscribe returns
		want   string
	}{
		{"shutdown, context error", true, context.Canceled, ""},
		{"shutdown, nil", true, nil, ""},
		{"shutdown, another error", true, errBus, "synclayer: Run: connection refused"},
		{"bus failed", false, errBus, "synclayer: Run: connection refused"},
		{"returned early", false, nil, "subscriber returned before its context ended"},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			var h func(context.Context, synclayer.Event) error
			err := d.Run(ctx, subscriberFunc(func(_ context.Context, _ []string, hh func(context.Context, synclayer.Event) error) error {
				h = hh
				if c.cancel {
					cancel()
				}
				return c.ret
			}))
			switch {
			case c.want == "" && err != nil:
				t.Fatalf("Run returned %v, want nil", err)
			case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
				t.Fatalf("Run returned %v, want an error saying %q", err, c.want)
			case c.want != "" && c.ret != nil && !errors.Is(err, c.ret):
				t.Fatalf("Run returned %v, which does not wrap %v", err, c.ret)
			}
			late := h(t.Context(), event("late", "K", 0))
			if late == nil || !strings.Contains(late.Error(), "dispatcher stopped") {
				t.Fatalf("handler after Run returned: %v, want a dispatcher stopped error", late)
			}
		})
	}
	if fakes[0].CallCount() != 0 {
		t.Fatal("a handler called after Run returned pushed an event")
	}
}
