package synclayer

import (
	"errors"
	"time"
)

// Redeliver marks err as a request to deliver the event again after d,
// without counting this delivery toward the bus's dead-letter limit: the
// event did not fail, it came too early. [Dispatcher.Run]'s handler returns
// it for a busy key or a held route. Bus adapters look for it with
// [RedeliverAfter]; one that cannot delay a redelivery redelivers it as it
// would any failed delivery, and one that cannot leave it uncounted says
// so in its documentation. Redeliver(nil, d) is nil.
func Redeliver(err error, d time.Duration) error {
	if err == nil {
		return nil
	}
	return &redeliverError{err: err, after: max(d, 0)}
}

type redeliverError struct {
	err   error
	after time.Duration
}

func (e *redeliverError) Error() string { return e.err.Error() }
func (e *redeliverError) Unwrap() error { return e.err }

// RedeliverAfter reports whether err was marked with [Redeliver], and the
// delay it asks for. A permanent error is never a redelivery request.
func RedeliverAfter(err error) (time.Duration, bool) {
	var r *redeliverError
	if errors.As(err, &r) && !IsPermanent(err) {
		return r.after, true
	}
	return 0, false
}
