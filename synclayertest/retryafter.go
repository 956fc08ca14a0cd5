package synclayertest

import (
	"errors"
	"time"
)

// RetryAfterHint returns the wait that [synclayer.RetryAfter] attached to
// err, if any: what the dispatcher will wait before its next attempt. A
// connector's tests use it to check that a partner's Retry-After reached
// the error.
func RetryAfterHint(err error) (time.Duration, bool) {
	var hint interface{ RetryAfter() time.Duration }
	if errors.As(err, &hint) {
		return hint.RetryAfter(), true
	}
	return 0, false
}
