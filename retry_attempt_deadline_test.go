package synclayer_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/synclayertest"
)

// Each attempt gets the whole of WithTimeout from its own start: a retry
// that comes after a backoff longer than the timeout is not born past its
// deadline.
func TestRetryGetsItsOwnAttemptTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var calls atomic.Int32
		push := synclayer.ConnectorFunc(func(ctx context.Context, _ synclayer.Record) error {
			if calls.Add(1) == 1 {
				return errors.New("503 try again")
			}
			select { // the retry needs half its timeout
			case <-time.After(500 * time.Millisecond):
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
		reg := new(synclayer.Registry)
		must(t, reg.Register("p0", push, synclayer.Route("WorkflowDeployed", keyMapper),
			synclayer.WithTimeout(time.Second),
			synclayer.WithRetry(synclayer.RetryPolicy{MaxAttempts: 2, InitialInterval: 5 * time.Second, MaxInterval: 5 * time.Second, MaxElapsed: time.Minute})))
		d := synclayertest.NewDispatcher(t, reg, synclayer.WithObserver(synclayer.NoObserver))
		rep, err := d.Dispatch(context.Background(), event("e1", "K1", 1))
		if err != nil {
			t.Fatalf("dispatch: %v; want the retry to succeed within its own timeout", err)
		}
		if r := rep.Results[0]; r.Status != synclayer.StatusSynced || r.Attempts != 2 {
			t.Fatalf("result %v after %d attempts, want synced after 2", r.Status, r.Attempts)
		}
	})
}
