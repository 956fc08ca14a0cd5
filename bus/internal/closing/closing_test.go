package closing_test

import (
	"context"
	"errors"
	"testing"
	"time"

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
