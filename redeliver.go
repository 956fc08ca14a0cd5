package synclayer

import (
	"errors"
	"time"
)

// ErrKeyBusy marks a route whose record key is leased by another process
// (pushing it now, or dead and not yet past its lease). [Dispatcher.Run]
// does not wait for such a key in a handler slot: it gives the slot back
// and asks the bus, with [Redeliver], to bring the event again once the
// lease can have ended.
var ErrKeyBusy = errors.New("record key busy in another process")

// ErrHeld marks a route held back because its connector is paused or its
// circuit breaker is open, while the delivery log cannot keep it across a
// restart (it is not a [DurableLog], or it is full). [Dispatcher.Run] asks
// the bus, with [Redeliver], to bring the event again later rather than
// acknowledge what lives only in memory.
var ErrHeld = errors.New("connector held: paused or circuit open")

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
