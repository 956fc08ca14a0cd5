package memory

import (
	"errors"
	"sync"
	"time"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/bus/internal/config"
	"github.com/hmsplatform/synclayer/internal/option"
)

// Errors returned by the bus.
var (
	// ErrClosed: the bus was closed.
	ErrClosed = errors.New("memory: bus closed")
	// ErrBacklogFull: no subscriber has taken the event's type yet and the
	// backlog already holds as many events as WithBacklog allows.
	ErrBacklogFull = errors.New("memory: backlog full and no subscriber for the event type")
)

// Bus is an in-process event bus: a [synclayer.Publisher] and a
// [synclayer.Subscriber]. Every Subscribe call on one Bus joins one consumer
// group: each event goes to one of the subscribers that take its type.
// A Bus is safe for concurrent use.
type Bus struct {
	cfg     config.Settings
	backlog int
	maxDead int

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

// New returns an empty bus, or an error wrapping
// [synclayer.ErrInvalidOption] when an option is given a value it cannot
// take.
func New(opts ...Option) (*Bus, error) {
	b := &Bus{
		changed: make(chan struct{}),
		types:   make(map[string]int),
		timers:  make(map[*delivery]*time.Timer),
	}
	if err := option.Apply("memory: New", b, opts); err != nil {
		return nil, err
	}
	b.cfg.Resolve(config.Settings{MaxDeliveries: 5, RedeliveryDelay: 100 * time.Millisecond, Concurrency: 16})
	b.backlog = option.Default(b.backlog, 10_000)
	b.maxDead = option.Default(b.maxDead, 10_000)
	return b, nil
}

// broadcast wakes everyone waiting for a change. b.mu must be held.
func (b *Bus) broadcast() {
	close(b.changed)
	b.changed = make(chan struct{})
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
