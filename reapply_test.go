package synclayer_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/synclayertest"
)

func TestReapply(t *testing.T) {
	d, fakes := newFakeDispatcher(t, 1)
	ctx := t.Context()
	if _, err := d.Dispatch(ctx, event("e1", "K1", 2)); err != nil {
		t.Fatal(err)
	}
	rec := synclayer.Record{Key: "K1", Version: 2, Payload: "again"}

	// The same version goes again, through the connector.
	res, err := d.Reapply(ctx, "p0", event("e1", "K1", 2), rec, nil)
	if err != nil || res.Status != synclayer.StatusSynced {
		t.Fatalf("Reapply at the held version: %+v, %v", res, err)
	}
	if w := fakes[0].Writes("K1"); w != 2 {
		t.Fatalf("K1 written %d times, want 2", w)
	}

	// A push function's error fails the route and gives the lease back.
	boom := errors.New("412 Precondition Failed")
	res, err = d.Reapply(ctx, "p0", event("e1", "K1", 2), rec, func(context.Context) error { return boom })
	var se *synclayer.SyncError
	if !errors.Is(err, boom) || !errors.As(err, &se) || res.Status != synclayer.StatusFailed || se.Op != "sync" {
		t.Fatalf("Reapply with a failing push: %+v, %v", res, err)
	}
	if _, err := d.Dispatch(ctx, event("e2", "K1", 3)); err != nil {
		t.Fatalf("the key is still leased after a failed Reapply: %v", err)
	}

	// An older version than the one applied is never pushed.
	called := false
	res, err = d.Reapply(ctx, "p0", event("e1", "K1", 2), rec, func(context.Context) error { called = true; return nil })
	if err != nil || res.Status != synclayer.StatusStale || called {
		t.Fatalf("Reapply of version 2 after 3: %+v, %v, pushed %v", res, err, called)
	}

	if _, err := d.Reapply(ctx, "nope", event("e1", "K1", 2), rec, nil); !errors.Is(err, synclayer.ErrUnknownConnector) {
		t.Fatalf("unknown connector: %v", err)
	}
	if _, err := d.Reapply(ctx, "p0", event("e1", "", 2), synclayer.Record{}, nil); !synclayer.IsPermanent(err) {
		t.Fatalf("empty key: %v, want a permanent error", err)
	}
}

// Reapply writes nothing to a paused connector, with the connector's Sync
// or a push function, and reports the record pending; once resumed, it
// pushes.
func TestReapplyWritesNothingWhilePaused(t *testing.T) {
	d, fakes := newFakeDispatcher(t, 1)
	ctx := t.Context()
	if _, err := d.Dispatch(ctx, event("e1", "K1", 2)); err != nil {
		t.Fatal(err)
	}
	must(t, d.Pause("p0"))
	rec := synclayer.Record{Key: "K1", Version: 2, Payload: "again"}
	called := false
	for _, push := range []func(context.Context) error{nil, func(context.Context) error { called = true; return nil }} {
		res, err := d.Reapply(ctx, "p0", event("e1", "K1", 2), rec, push)
		if err != nil || res.Status != synclayer.StatusPending {
			t.Fatalf("Reapply to a paused connector: %+v, %v; want pending", res, err)
		}
	}
	if w := fakes[0].Writes("K1"); w != 1 || called {
		t.Fatalf("paused: K1 written %d times (want 1, the dispatch), push function called %v", w, called)
	}
	if _, err := d.Resume(ctx, "p0"); err != nil {
		t.Fatal(err)
	}
	if res, err := d.Reapply(ctx, "p0", event("e1", "K1", 2), rec, nil); err != nil || res.Status != synclayer.StatusSynced {
		t.Fatalf("Reapply after Resume: %+v, %v", res, err)
	}
	if w := fakes[0].Writes("K1"); w != 2 {
		t.Fatalf("after Resume: K1 written %d times, want 2", w)
	}
}

// A Reapply that waited for its key while the connector was paused writes
// nothing either: the pause is checked again under the lease.
func TestReapplyPausedWhileWaitingForTheKey(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d, fakes := newFakeDispatcher(t, 1)
		ctx := t.Context()
		rec := synclayer.Record{Key: "K1", Version: 1, Payload: "v1"}
		release := make(chan struct{})
		first := make(chan error, 1)
		go func() {
			_, err := d.Reapply(ctx, "p0", event("e1", "K1", 1), rec, func(context.Context) error { <-release; return nil })
			first <- err
		}()
		synctest.Wait() // the first holds the key, in its push
		second := make(chan synclayer.Result, 1)
		go func() {
			res, _ := d.Reapply(ctx, "p0", event("e1", "K1", 1), rec, nil)
			second <- res
		}()
		synctest.Wait() // the second waits for the key
		must(t, d.Pause("p0"))
		close(release)
		if err := <-first; err != nil {
			t.Fatal(err)
		}
		if res := <-second; res.Status != synclayer.StatusPending || res.Err != nil {
			t.Fatalf("Reapply paused while it waited for the key: %+v, want pending", res)
		}
		if n := fakes[0].CallCount(); n != 0 {
			t.Fatalf("the connector was called %d times while paused", n)
		}
	})
}

// Reapply writes nothing through an open breaker, with a push function
// either.
func TestReapplyWritesNothingThroughAnOpenBreaker(t *testing.T) {
	fake := synclayertest.NewFake()
	d := newBreakerDispatcher(t, fake)
	ctx := t.Context()
	fake.Inject(synclayertest.Fault{Err: errors.New("503")})
	_, _ = d.Dispatch(ctx, event("f", "F", 0))
	if st := d.Status()[0]; st.Breaker != synclayer.BreakerOpen {
		t.Fatalf("breaker %v, want open", st.Breaker)
	}
	calls := fake.CallCount()
	called := false
	res, err := d.Reapply(ctx, "p0", event("e1", "K1", 1), synclayer.Record{Key: "K1", Version: 1, Payload: "v1"},
		func(context.Context) error { called = true; return nil })
	if err != nil || res.Status != synclayer.StatusPending || called || fake.CallCount() != calls {
		t.Fatalf("Reapply through an open breaker: %+v, %v, push function called %v", res, err, called)
	}
}

// A breaker that opens during Reapply's retries leaves Reapply pending
// with no error, and queues nothing in the delivery log: the caller
// reapplies once the connector is let go.
func TestReapplyQueuesNothingWhenTheBreakerOpensMidRetry(t *testing.T) {
	reg := new(synclayer.Registry)
	fake := synclayertest.NewFake()
	must(t, reg.Register("p0", fake, synclayer.Route("WorkflowDeployed", keyMapper), synclayer.WithRetry(fastRetry),
		synclayer.WithBreaker(synclayer.BreakerPolicy{MinRequests: 1, FailureRate: 1})))
	d := synclayertest.NewDispatcher(t, reg, synclayer.WithObserver(synclayer.NoObserver))
	fake.Inject(synclayertest.Fault{Times: -1, Err: errors.New("503")})
	ev := event("e1", "K", 1)
	rec, _, err := d.Map(context.Background(), "p0", ev)
	must(t, err)
	res, err := d.Reapply(context.Background(), "p0", ev, rec, nil)
	if err != nil || res.Status != synclayer.StatusPending {
		t.Fatalf("Reapply = %v, %v; want pending, no error", res.Status, err)
	}
	if n := fake.CallCount(); n != 1 {
		t.Fatalf("partner called %d times, want 1 (the breaker opened after it)", n)
	}
	if got := pendingOf(t, d); len(got) != 0 {
		t.Fatalf("Reapply queued %d pending entries: %+v", len(got), got[0])
	}
}
