package janitor_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hmsplatform/synclayer/idempotency/internal/janitor"
)

// TestRunStartsNoRoundAfterItsContextEnds: a round that outlasts the
// interval and ends the context leaves both a tick and the context's end
// waiting for Run. Run must return, not start another round (ExampleRun
// once printed 4 rounds in CI). Each trial would pass by chance half the
// time without the check, so 40 of them cannot all pass.
func TestRunStartsNoRoundAfterItsContextEnds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		for trial := range 40 {
			ctx, cancel := context.WithCancel(t.Context())
			rounds := 0
			err := janitor.Run(ctx, time.Millisecond, nil, func(context.Context) error {
				rounds++
				if rounds == 2 {
					time.Sleep(5 * time.Millisecond) // a tick comes meanwhile
					cancel()
				}
				return nil
			})
			cancel()
			if rounds != 2 || !errors.Is(err, context.Canceled) {
				t.Fatalf("trial %d: %d rounds, Run returned %v; want 2 rounds and context.Canceled", trial, rounds, err)
			}
		}
	})
}
