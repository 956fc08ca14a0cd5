package memory

import (
	"context"
	"slices"
	"sync"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/bus/internal/deliver"
)

// Subscribe delivers events of eventTypes to h until ctx ends, running up
// to WithConcurrency handler calls at once. It returns nil after ctx ends,
// or [Bus.Close] stops it, and every handler call it started has
// returned; it returns [ErrClosed] at once when the bus is already closed.
//
// A handler's nil acknowledges the event. An error redelivers it after the
// redelivery delay, to this or another subscriber, until WithMaxDeliveries
// is reached; then, or at once for a [synclayer.IsPermanent] error, the
// event becomes a [DeadLetter]. An error marked with [synclayer.Redeliver]
// redelivers the event after the delay it asks for, and that delivery does
// not count toward WithMaxDeliveries. A panicking handler counts as an
// error. A call that has not returned when ctx ends and then fails (but
// for a permanent error) puts its event back in the queue at once,
// without counting that delivery.
func (b *Bus) Subscribe(ctx context.Context, eventTypes []string, h func(context.Context, synclayer.Event) error) error {
	if err := deliver.CheckSubscribe("memory", eventTypes, h); err != nil {
		return err
	}
	want := make(map[string]bool, len(eventTypes))
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return ErrClosed
	}
	for _, t := range eventTypes {
		if !want[t] {
			want[t] = true
			b.types[t]++
		}
	}
	b.broadcast()
	b.mu.Unlock()

	var wg sync.WaitGroup
	errc := make(chan error, b.cfg.Concurrency)
	for range b.cfg.Concurrency {
		wg.Go(func() {
			if err := b.work(ctx, want, h); err != nil {
				errc <- err
			}
		})
	}
	wg.Wait()

	b.mu.Lock()
	for t := range want {
		if b.types[t]--; b.types[t] == 0 {
			delete(b.types, t)
		}
	}
	b.broadcast()
	b.mu.Unlock()
	select {
	case err := <-errc:
		return err
	default:
		return nil
	}
}

// work is one handler slot of a subscription.
func (b *Bus) work(ctx context.Context, want map[string]bool, h func(context.Context, synclayer.Event) error) error {
	for {
		b.mu.Lock()
		if ctx.Err() != nil {
			// An ended subscription takes no more events. Checked under
			// b.mu: a slot whose handler ctx cut short queues its event
			// again under b.mu (see settle), and a slot that checked
			// before taking the lock could take that event and call its
			// handler again, with the ended ctx.
			b.mu.Unlock()
			return nil
		}
		d, wait := b.take(want)
		if d == nil {
			closed := b.closed
			b.mu.Unlock()
			if closed {
				return nil // Close stopped the subscription
			}
			select {
			case <-wait:
				continue
			case <-ctx.Done():
				return nil
			}
		}
		b.inflight++
		d.deliveries++
		b.mu.Unlock()

		err := deliver.Call(ctx, "memory", h, d.ev)

		b.mu.Lock()
		b.inflight--
		b.settle(ctx, d, err)
		b.broadcast()
		b.mu.Unlock()
		if ctx.Err() != nil {
			return nil
		}
	}
}

// take removes the first queued event of a wanted type, or returns the
// channel to wait on. b.mu must be held.
func (b *Bus) take(want map[string]bool) (*delivery, chan struct{}) {
	if b.closed {
		return nil, b.changed
	}
	for i, d := range b.queue {
		if want[d.ev.Type] {
			if i == 0 {
				b.queue[0] = nil
				b.queue = b.queue[1:]
			} else {
				b.queue = slices.Delete(b.queue, i, i+1)
			}
			return d, nil
		}
	}
	return nil, b.changed
}
