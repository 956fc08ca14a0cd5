package memory

import (
	"context"
	"time"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/bus/internal/deliver"
)

// settle acks, schedules a redelivery, or dead-letters the event of d,
// whose handler call had ctx and returned err. b.mu must be held.
func (b *Bus) settle(ctx context.Context, d *delivery, err error) {
	if err == nil {
		return
	}
	if after, ok := synclayer.RedeliverAfter(err); ok {
		// The event came too early: this delivery does not count.
		d.deliveries--
		b.schedule(d, after)
		return
	}
	if deliver.Interrupted(ctx, err) {
		// Cut short by the subscriber stopping: queued again at once, and
		// this delivery does not count.
		d.deliveries--
		b.queue = append(b.queue, d)
		return
	}
	d.lastErr = err
	if synclayer.IsPermanent(err) || d.deliveries >= b.cfg.MaxDeliveries {
		if len(b.dead) >= b.maxDead {
			n := len(b.dead) - b.maxDead + 1
			clear(b.dead[:n])
			b.dead = b.dead[n:]
			b.dropped += n
		}
		b.dead = append(b.dead, DeadLetter{Event: d.ev, Err: err, Deliveries: d.deliveries, At: time.Now()})
		return
	}
	b.schedule(d, b.cfg.RetryDelay(d.deliveries))
}

// schedule queues d again after wait. b.mu must be held.
func (b *Bus) schedule(d *delivery, wait time.Duration) {
	b.timers[d] = time.AfterFunc(wait, func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		if _, ok := b.timers[d]; !ok {
			return // Close took it back
		}
		delete(b.timers, d)
		b.queue = append(b.queue, d)
		b.broadcast()
	})
}
