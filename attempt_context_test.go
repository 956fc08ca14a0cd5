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

// The context a connector gets for one attempt ends at the attempt timeout
// and with the dispatch, and says so through Err and Deadline even when the
// connector never waits on Done.
func TestAttemptContextEndsAtTimeoutAndWithDispatch(t *testing.T) {
	const timeout = 50 * time.Millisecond
	type seen struct {
		before, after error
		deadline      time.Duration
		hasDeadline   bool
	}
	run := func(t *testing.T, wait func(ctx context.Context)) seen {
		var s seen
		conn := synclayer.ConnectorFunc(func(ctx context.Context, _ synclayer.Record) error {
			s.before = ctx.Err()
			dl, ok := ctx.Deadline()
			s.deadline, s.hasDeadline = time.Until(dl), ok
			wait(ctx)
			s.after = ctx.Err()
			return nil
		})
		reg := new(synclayer.Registry)
		must(t, reg.Register("p", conn, synclayer.Route("WorkflowDeployed", keyMapper), synclayer.WithTimeout(timeout)))
		d := synclayertest.NewDispatcher(t, reg, synclayer.WithObserver(synclayer.NoObserver))
		if _, err := d.Dispatch(t.Context(), event("e1", "K", 0)); err != nil {
			t.Fatal(err)
		}
		return s
	}

	t.Run("timeout", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			s := run(t, func(context.Context) { time.Sleep(2 * timeout) })
			if s.before != nil || !s.hasDeadline || s.deadline != timeout {
				t.Fatalf("at the start: Err %v, Deadline in %v (%v); want nil, in %v", s.before, s.deadline, s.hasDeadline, timeout)
			}
			if !errors.Is(s.after, context.DeadlineExceeded) {
				t.Fatalf("after the attempt timeout: Err %v, want context.DeadlineExceeded", s.after)
			}
		})
	})
	t.Run("dispatch cancelled", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			var s seen
			conn := synclayer.ConnectorFunc(func(actx context.Context, _ synclayer.Record) error {
				cancel()
				s.after = actx.Err()
				return nil
			})
			reg := new(synclayer.Registry)
			must(t, reg.Register("p", conn, synclayer.Route("WorkflowDeployed", keyMapper), synclayer.WithTimeout(timeout)))
			d := synclayertest.NewDispatcher(t, reg, synclayer.WithObserver(synclayer.NoObserver))
			_, _ = d.Dispatch(ctx, event("e1", "K", 0))
			if !errors.Is(s.after, context.Canceled) {
				t.Fatalf("after the dispatch's context ended: Err %v, want context.Canceled", s.after)
			}
		})
	})
	t.Run("earlier parent deadline", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), timeout/2)
			defer cancel()
			var dl time.Duration
			conn := synclayer.ConnectorFunc(func(actx context.Context, _ synclayer.Record) error {
				d, _ := actx.Deadline()
				dl = time.Until(d)
				return nil
			})
			reg := new(synclayer.Registry)
			must(t, reg.Register("p", conn, synclayer.Route("WorkflowDeployed", keyMapper), synclayer.WithTimeout(timeout)))
			d := synclayertest.NewDispatcher(t, reg, synclayer.WithObserver(synclayer.NoObserver))
			if _, err := d.Dispatch(ctx, event("e1", "K", 0)); err != nil {
				t.Fatal(err)
			}
			if dl != timeout/2 {
				t.Fatalf("Deadline in %v, want the dispatch's own, earlier deadline, in %v", dl, timeout/2)
			}
		})
	})
}
