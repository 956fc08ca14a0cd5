package sqlstore

import (
	"context"
	"errors"
	"time"

	"github.com/hmsplatform/synclayer/internal/ctxsleep"
)

// retryOn runs f, again after errors the dialect reports as rolled back
// and safe to repeat (a deadlock, a busy database), up to 5 times. A
// statement that a concurrent Close closed before it ran is tried again at
// once, while ctx lasts, and that try is not counted: the next attempt
// prepares it afresh, and nothing ran.
func retryOn(ctx context.Context, d *Dialect, f func() error) error {
	wait := 5 * time.Millisecond
	for attempt := 1; ; {
		err := f()
		if err == nil {
			return nil
		}
		if stmtClosed(err) && ctx.Err() == nil {
			continue
		}
		if attempt == 5 || d.retryable == nil || !d.retryable(err) {
			return err
		}
		attempt++
		if ctxsleep.Sleep(ctx, wait) != nil {
			return err
		}
		wait *= 2
	}
}

// errStmtClosed is the text of the error database/sql returns, before
// running anything, for a statement that was closed (it does not export
// the error).
const errStmtClosed = "sql: statement is closed"

// stmtClosed reports whether err is, or wraps, database/sql's error for a
// closed statement.
func stmtClosed(err error) bool {
	for ; err != nil; err = errors.Unwrap(err) {
		if err.Error() == errStmtClosed {
			return true
		}
	}
	return false
}
