package closing_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/bus/internal/closing"
)

func TestCloseWaitsForCallsThenRefuses(t *testing.T) {
	var g closing.Group
	take, handle, leave, ok := g.Enter(t.Context())
	if !ok {
		t.Fatal("Enter refused before Close")
	}
	closed := make(chan error, 1)
	go func() { closed <- g.Close(t.Context()) }()
	<-take.Done() // Close stops the taking at once
	if handle.Err() != nil {
		t.Fatal("Close cancelled the handlers while it could still wait")
	}
	select {
	case err := <-closed:
		t.Fatalf("Close returned %v while a call was running", err)
	default:
	}
	if g.Closed() {
		t.Fatal("Closed before Close returned")
	}
	leave()
	if err := <-closed; err != nil {
		t.Fatalf("Close = %v, want nil", err)
	}
	if !g.Closed() {
		t.Fatal("not Closed after Close returned")
	}
	if _, _, _, ok := g.Enter(t.Context()); ok {
		t.Fatal("Enter accepted after Close")
	}
	if err := g.Close(t.Context()); err != nil {
		t.Fatalf("second Close = %v, want nil", err)
	}
}

func TestCloseCancelsHandlersAtItsDeadline(t *testing.T) {
	var g closing.Group
	_, handle, leave, _ := g.Enter(context.Background())
	defer leave()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Millisecond)
	defer cancel()
	if err := g.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Close = %v, want the deadline's error", err)
	}
	select {
	case <-handle.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("handlers' context not cancelled when Close gave up")
	}
}

// Start refuses bad arguments, registers a call like Enter, and returns
// the bus's own sentinel once Close has started.
func TestStart(t *testing.T) {
	var g closing.Group
	errClosed := errors.New("x: bus closed")
	h := func(context.Context, synclayer.Event) error { return nil }
	if _, _, _, err := g.Start(context.Background(), "x", nil, h, errClosed); err == nil || err.Error() != "x: subscribe: no event types" {
		t.Errorf("Start with no types = %v", err)
	}
	_, _, leave, err := g.Start(context.Background(), "x", []string{"T"}, h, errClosed)
	if err != nil {
		t.Fatal(err)
	}
	leave()
	if err := g.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := g.Start(context.Background(), "x", []string{"T"}, h, errClosed); err != errClosed {
		t.Errorf("Start after Close = %v, want the bus's sentinel", err)
	}
}
