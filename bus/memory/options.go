package memory

import (
	"time"

	"github.com/hmsplatform/synclayer/bus/internal/config"
	"github.com/hmsplatform/synclayer/internal/option"
)

// Option configures [New]. A zero value given to an option means its
// default; a value the option cannot take makes New return an error that
// wraps [synclayer.ErrInvalidOption] and names the option.
type Option func(*Bus) error

// shared wraps a setting every bus has as an Option.
func shared(o config.Option) Option { return func(b *Bus) error { return o(&b.cfg) } }

// WithMaxDeliveries sets how many times an event is delivered before it
// becomes a [DeadLetter] kept in memory. 0 means the default, 5; a
// negative n is an error.
func WithMaxDeliveries(n int) Option { return shared(config.MaxDeliveries(n)) }

// WithRedeliveryDelay sets the bus's timer for the first redelivery of an
// event whose handler failed; each further failure of the same event
// doubles it, up to 64 times this delay. 0 means the default, 100ms; a
// negative d is an error.
func WithRedeliveryDelay(d time.Duration) Option { return shared(config.RedeliveryDelay(d)) }

// WithBacklog bounds the events waiting for a handler. When the bound is
// hit, Publish waits for room if some subscriber takes the event's type,
// and fails at once with [ErrBacklogFull] if none does. 0 means the
// default, 10,000; a negative n is an error.
func WithBacklog(n int) Option {
	return func(b *Bus) error { return option.Set("WithBacklog", n, 0, &b.backlog) }
}

// WithConcurrency sets how many handler calls each Subscribe runs at once.
// 0 means the default, 16; a negative n is an error.
func WithConcurrency(n int) Option { return shared(config.Concurrency(n)) }

// WithMaxDeadLetters bounds the dead letters the bus keeps. Once full, the
// oldest is dropped for each new one; [Bus.DroppedDeadLetters] counts
// them. 0 means the default, 10,000; a negative n is an error.
func WithMaxDeadLetters(n int) Option {
	return func(b *Bus) error { return option.Set("WithMaxDeadLetters", n, 0, &b.maxDead) }
}
