package sqlstore

import (
	"context"
	"time"

	"github.com/hmsplatform/synclayer/internal/ctxsleep"
)

// retryOn runs f, again after errors the dialect reports as rolled back
// and safe to repeat (a deadlock, a busy database), up to 5 times.
func retryOn(ctx context.Context, d *Dialect, f func() error) error {
	wait := 5 * time.Millisecond
	for attempt := 1; ; attempt++ {
		err := f()
		if err == nil || attempt == 5 || d.retryable == nil || !d.retryable(err) {
			return err
		}
		if ctxsleep.Sleep(ctx, wait) != nil {
			return err
		}
		wait *= 2
	}
}
