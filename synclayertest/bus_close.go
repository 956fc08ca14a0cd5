package synclayertest

import (
	"context"
	"errors"
	"testing"

	"github.com/hmsplatform/synclayer"
)

// closer is the shape of Close every bus adapter of this module has.
type closer interface {
	Close(ctx context.Context) error
}

func testClose(t *testing.T, r *busRun) {
	c, ok := r.fx.Bus.(closer)
	if !ok {
		t.Skip("the bus has no Close(context.Context) error method")
	}
	entered := make(chan struct{}, 1)
	release := make(chan struct{})
	handlerErr := make(chan error, 1)
	s := r.subscribe("a", true, func(ctx context.Context, ev synclayer.Event) error {
		entered <- struct{}{}
		<-release
		handlerErr <- ctx.Err()
		return nil
	})
	r.publishUntil(entered)
	closed := make(chan error, 1)
	go func() { closed <- c.Close(r.ctx) }()
	select {
	case err := <-closed:
		t.Fatalf("Close returned %v while a handler call was in flight", err)
	case <-s.done:
		t.Fatalf("Subscribe returned %v while its handler call was in flight", s.err)
	default:
	}
	close(release)
	if err := <-handlerErr; err != nil {
		t.Errorf("the handler's context ended (%v) while Close could still wait for it", err)
	}
	select {
	case err := <-closed:
		if err != nil {
			t.Errorf("Close = %v, want nil once the handler returned", err)
		}
	case <-r.ctx.Done():
		t.Fatal("Close did not return after the handler call returned")
	}
	select {
	case <-s.done:
		if s.err != nil && !errors.Is(s.err, context.Canceled) {
			t.Errorf("Subscribe returned %v after Close, want nil", s.err)
		}
	case <-r.ctx.Done():
		t.Fatal("Subscribe did not return after Close")
	}
	if err := r.fx.Bus.Publish(r.ctx, r.event(busEventType)); err == nil {
		t.Error("Publish after Close succeeded, want an error")
	}
	if err := c.Close(r.ctx); err != nil {
		t.Errorf("second Close = %v, want nil", err)
	}
}
