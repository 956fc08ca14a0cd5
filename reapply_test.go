package synclayer_test

import (
	"context"
	"errors"
	"testing"

	"github.com/hmsplatform/synclayer"
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
