// Package ctxsleep waits for a duration or for a context to end, whichever
// comes first. It is the one such wait of the module: the retry loops, the
// lease busy-wait, the Kafka bus's wait for a retry's time and the
// fault-injecting fakes all call it, so each wait stops its timer and
// answers a cancelled context the same way. (The outbox relay's wait also
// ends on a wake-up signal, and stays its own.)
package ctxsleep

import (
	"context"
	"time"
)

// Sleep waits d, or until ctx ends. It returns nil when d passed and ctx's
// error when ctx ended first. With d <= 0 it does not wait and returns
// ctx's error, nil while ctx is live.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
