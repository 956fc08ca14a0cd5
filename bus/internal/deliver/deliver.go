// Package deliver holds what every bus does around one handler call: take
// a handler slot, run the handler with a panic turned into an error, tell
// a call cut short by its subscriber stopping, say why an event went over
// its delivery limit, and word a dead letter's reason.
package deliver

import (
	"context"
	"fmt"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/internal/clip"
)

// CheckSubscribe returns the error a bus's Subscribe gives for a nil
// handler or no event types, naming the bus (pkg), or nil.
func CheckSubscribe(pkg string, eventTypes []string, h func(context.Context, synclayer.Event) error) error {
	if h == nil {
		return fmt.Errorf("%s: subscribe: nil handler", pkg)
	}
	if len(eventTypes) == 0 {
		return fmt.Errorf("%s: subscribe: no event types", pkg)
	}
	return nil
}

// Acquire takes one of sem's handler slots, waiting for one, and reports
// true; or reports false, holding none, once ctx has ended. Handlers end
// with ctx, so slots come free just as it ends: a slot taken then is given
// back, because a handler started after the subscriber stopped would run
// with an ended context and keep an event another subscriber should take.
func Acquire(ctx context.Context, sem chan struct{}) bool {
	select {
	case sem <- struct{}{}:
	case <-ctx.Done():
		return false
	}
	if ctx.Err() != nil {
		<-sem
		return false
	}
	return true
}

// MaxReason bounds, in bytes, the reason a bus writes on a dead letter.
const MaxReason = 2048

// Call runs h on ev. A panic in h becomes an error that names the bus (pkg,
// e.g. "nats") and the event, so the bus handles it as a failed delivery.
func Call(ctx context.Context, pkg string, h func(context.Context, synclayer.Event) error, ev synclayer.Event) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%s: handler panicked on event %q: %v", pkg, ev.ID, p)
		}
	}()
	return h(ctx, ev)
}

// OverLimit is the reason a bus dead-letters an event delivered again after
// its limit was reached without an outcome, as when the processes that
// handled it died.
func OverLimit(pkg, id string, deliveries, limit int) error {
	return fmt.Errorf("%s: event %q delivered %d times, over the limit of %d, without an outcome", pkg, id, deliveries, limit)
}

// Reason is the text of reason cut to MaxReason bytes of valid UTF-8.
func Reason(reason error) string { return clip.String(reason.Error(), MaxReason) }

// Interrupted reports whether a handler call that returned err was cut
// short by the end of its context ctx (the subscriber stopped, or Close
// gave up waiting) and then failed: ctx has ended and err is an error that
// is neither permanent nor made by [synclayer.Redeliver]. The Subscriber
// contract redelivers such an event, so the bus hands it back without
// counting the delivery toward its limit: even on its last allowed
// delivery it is not dead-lettered.
func Interrupted(ctx context.Context, err error) bool {
	if err == nil || ctx.Err() == nil || synclayer.IsPermanent(err) {
		return false
	}
	_, deferred := synclayer.RedeliverAfter(err)
	return !deferred
}
