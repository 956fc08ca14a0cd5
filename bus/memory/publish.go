package memory

import (
	"context"
	"fmt"

	"github.com/hmsplatform/synclayer"
)

// Publish queues ev for delivery. It fails with [ErrClosed] once the bus is
// closed (handlers may still publish while Close drains), and with [ErrBacklogFull] as WithBacklog says; it waits for room
// while subscribers drain the backlog, until ctx ends.
func (b *Bus) Publish(ctx context.Context, ev synclayer.Event) error {
	if ev.ID == "" || ev.Type == "" {
		return synclayer.Permanent(fmt.Errorf("memory: publish: event needs an ID and a Type (id %q, type %q)", ev.ID, ev.Type))
	}
	b.mu.Lock()
	for {
		if b.closed {
			b.mu.Unlock()
			return fmt.Errorf("memory: publish %q: %w", ev.ID, ErrClosed)
		}
		if len(b.queue) < b.backlog {
			break
		}
		if b.types[ev.Type] == 0 {
			b.mu.Unlock()
			return fmt.Errorf("memory: publish %q (%s): %w (%d waiting)", ev.ID, ev.Type, ErrBacklogFull, b.backlog)
		}
		wait := b.changed
		b.mu.Unlock()
		select {
		case <-wait:
		case <-ctx.Done():
			return fmt.Errorf("memory: publish %q: %w", ev.ID, ctx.Err())
		}
		b.mu.Lock()
	}
	b.queue = append(b.queue, &delivery{ev: ev})
	b.broadcast()
	b.mu.Unlock()
	return nil
}
