package synclayer_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/idempotency"
	"github.com/hmsplatform/synclayer/synclayertest"
)

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
	reg, fakes := newFakes(t, 1)
	d := synclayertest.NewDispatcher(t, reg, synclayer.WithObserver(synclayer.NoObserver))
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
