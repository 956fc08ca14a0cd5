package memory

import (
	"context"
	"slices"
	"time"

	"github.com/hmsplatform/synclayer"
)

// DeadLetter is an event the bus gave up on.
type DeadLetter struct {
	Event      synclayer.Event
	Err        error     // the handler's last error
	Deliveries int       // how many times it was delivered, deferrals left out
	At         time.Time // when it was dead-lettered
}

// DeadLetters returns the dead letters, oldest first: at most
// WithMaxDeadLetters of them, the most recent.
func (b *Bus) DeadLetters() []DeadLetter {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.dead)
}

// DroppedDeadLetters returns how many dead letters were dropped, oldest
// first, because WithMaxDeadLetters were already kept.
func (b *Bus) DroppedDeadLetters() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.dropped
}

// Replay moves dead letters back to the queue with a fresh delivery count:
// those whose event ID is in ids, or all of them when ids is empty. It
// returns how many it moved.
func (b *Bus) Replay(ctx context.Context, ids ...string) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closing || b.closed {
		return 0, ErrClosed
	}
	n := 0
	b.dead = slices.DeleteFunc(b.dead, func(dl DeadLetter) bool {
		if len(ids) > 0 && !slices.Contains(ids, dl.Event.ID) {
			return false
		}
		b.queue = append(b.queue, &delivery{ev: dl.Event})
		n++
		return true
	})
	if n > 0 {
		b.broadcast()
	}
	return n, nil
}
