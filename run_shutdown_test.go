package synclayer_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/synclayertest"
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
