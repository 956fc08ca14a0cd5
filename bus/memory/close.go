package memory

import (
	"context"
	"fmt"
)

// Close stops taking new events and waits until every queued event of a
// subscribed type has been handled and no redelivery is pending, or until
// ctx ends. Then it stops the subscribers (their Subscribe calls return
// nil once their handler calls have returned). It returns nil if nothing
// was left, or an error counting what was not delivered; those events stay
// readable with Pending. Close is idempotent, and safe to call more than
// once or concurrently. Publish may be called by handlers while Close
// drains; afterwards Publish, Replay and Subscribe fail with [ErrClosed].
func (b *Bus) Close(ctx context.Context) error {
	b.mu.Lock()
	b.closing = true
	for !b.closed {
		if b.inflight == 0 && len(b.timers) == 0 && !b.anyDeliverable() {
			break
		}
		wait := b.changed
		b.mu.Unlock()
		select {
		case <-wait:
		case <-ctx.Done():
			b.mu.Lock()
			b.shut()
			b.mu.Unlock()
			return b.undelivered(ctx.Err())
		}
		b.mu.Lock()
	}
	b.shut()
	b.mu.Unlock()
	return b.undelivered(nil)
}

// shut marks the bus closed and moves scheduled redeliveries back to the
// queue. b.mu must be held.
func (b *Bus) shut() {
	if b.closed {
		return
	}
	b.closed = true
	for d, t := range b.timers {
		t.Stop()
		delete(b.timers, d)
		b.queue = append(b.queue, d)
	}
	b.broadcast()
}

func (b *Bus) anyDeliverable() bool {
	for _, d := range b.queue {
		if b.types[d.ev.Type] > 0 {
			return true
		}
	}
	return false
}

func (b *Bus) undelivered(cause error) error {
	b.mu.Lock()
	n, inflight := len(b.queue), b.inflight
	b.mu.Unlock()
	if n == 0 && inflight == 0 {
		return nil
	}
	err := fmt.Errorf("memory: closed with %d events undelivered and %d in flight", n, inflight)
	if cause != nil {
		err = fmt.Errorf("%w: %w", err, cause)
	}
	return err
}
