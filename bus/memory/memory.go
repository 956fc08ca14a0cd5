package memory

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/hmsplatform/synclayer"
)

// Errors returned by the bus.
var (
	// ErrClosed: the bus was closed.
	ErrClosed = errors.New("memory: bus closed")
	// ErrBacklogFull: no subscriber has taken the event's type yet and the
	// backlog already holds as many events as WithBacklog allows.
	ErrBacklogFull = errors.New("memory: backlog full and no subscriber for the event type")
)

// DeadLetter is an event the bus gave up on.
type DeadLetter struct {
	Event      synclayer.Event
	Err        error     // the handler's last error
	Deliveries int       // how many times it was delivered, deferrals left out
	At         time.Time // when it was dead-lettered
}

// Option configures [New].
type Option func(*Bus)

// WithMaxDeliveries sets how many times an event is delivered before it is
// dead-lettered (default 5). n < 1 is taken as 1.
func WithMaxDeliveries(n int) Option { return func(b *Bus) { b.maxDeliveries = max(n, 1) } }

// WithRedeliveryDelay sets the wait before the first redelivery (default
// 100ms); each further redelivery of the same event waits twice as long, up
// to 64 times this delay.
func WithRedeliveryDelay(d time.Duration) Option {
	return func(b *Bus) {
		if d >= 0 {
			b.delay = d
		}
	}
}

// WithBacklog bounds the events waiting for a handler (default 10,000).
// When the bound is hit, Publish waits for room if some subscriber takes the
// event's type, and fails at once with [ErrBacklogFull] if none does.
func WithBacklog(n int) Option { return func(b *Bus) { b.backlog = max(n, 1) } }

// WithConcurrency sets how many handler calls each Subscribe runs at once
// (default 16).
func WithConcurrency(n int) Option { return func(b *Bus) { b.workers = max(n, 1) } }

// WithMaxDeadLetters bounds the dead letters the bus keeps (default
// 10,000; n < 1 is taken as 1). Once full, the oldest is dropped for each
// new one; [Bus.DroppedDeadLetters] counts them.
func WithMaxDeadLetters(n int) Option { return func(b *Bus) { b.maxDead = max(n, 1) } }

// Bus is an in-process event bus: a [synclayer.Publisher] and a
// [synclayer.Subscriber]. Every Subscribe call on one Bus joins one consumer
// group: each event goes to one of the subscribers that take its type.
// A Bus is safe for concurrent use.
type Bus struct {
	maxDeliveries int
	delay         time.Duration
	backlog       int
	workers       int
	maxDead       int

	mu       sync.Mutex
	changed  chan struct{} // closed and replaced whenever the queue changes
	queue    []*delivery   // FIFO of events waiting for a handler
	types    map[string]int
	inflight int
	timers   map[*delivery]*time.Timer
	dead     []DeadLetter
	dropped  int // dead letters dropped by the bound
	closing  bool
	closed   bool
}

type delivery struct {
	ev         synclayer.Event
	deliveries int
	lastErr    error
}

// New returns an empty bus.
func New(opts ...Option) *Bus {
	b := &Bus{
		maxDeliveries: 5,
		delay:         100 * time.Millisecond,
		backlog:       10_000,
		workers:       16,
		maxDead:       10_000,
		changed:       make(chan struct{}),
		types:         make(map[string]int),
		timers:        make(map[*delivery]*time.Timer),
	}
	for _, o := range opts {
		if o != nil {
			o(b)
		}
	}
	return b
}

// broadcast wakes everyone waiting for a change. b.mu must be held.
func (b *Bus) broadcast() {
	close(b.changed)
	b.changed = make(chan struct{})
}

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
// error.
func (b *Bus) Subscribe(ctx context.Context, eventTypes []string, h func(context.Context, synclayer.Event) error) error {
	if h == nil {
		return errors.New("memory: subscribe: nil handler")
	}
	if len(eventTypes) == 0 {
		return errors.New("memory: subscribe: no event types")
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
	errc := make(chan error, b.workers)
	for range b.workers {
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

		err := call(ctx, h, d.ev)

		b.mu.Lock()
		b.inflight--
		b.settle(d, err)
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

// settle acks, schedules a redelivery, or dead-letters. b.mu must be held.
func (b *Bus) settle(d *delivery, err error) {
	if err == nil {
		return
	}
	if after, ok := synclayer.RedeliverAfter(err); ok {
		// The event came too early: this delivery does not count.
		d.deliveries--
		b.schedule(d, after)
		return
	}
	d.lastErr = err
	if synclayer.IsPermanent(err) || d.deliveries >= b.maxDeliveries {
		if len(b.dead) >= b.maxDead {
			n := len(b.dead) - b.maxDead + 1
			clear(b.dead[:n])
			b.dead = b.dead[n:]
			b.dropped += n
		}
		b.dead = append(b.dead, DeadLetter{Event: d.ev, Err: err, Deliveries: d.deliveries, At: time.Now()})
		return
	}
	b.schedule(d, b.delay<<min(d.deliveries-1, 6))
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

func call(ctx context.Context, h func(context.Context, synclayer.Event) error, ev synclayer.Event) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("memory: handler panicked on event %q: %v", ev.ID, p)
		}
	}()
	return h(ctx, ev)
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

// Pending returns the events not yet acknowledged or dead-lettered: queued,
// awaiting redelivery, or in a handler (the last only as a count).
func (b *Bus) Pending() (queued []synclayer.Event, inflight int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, d := range b.queue {
		queued = append(queued, d.ev)
	}
	for d := range b.timers {
		queued = append(queued, d.ev)
	}
	return queued, b.inflight
}

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
