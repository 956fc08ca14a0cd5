package redisstream

import (
	"log/slog"
	"time"

	"github.com/hmsplatform/synclayer/bus/internal/config"
	"github.com/hmsplatform/synclayer/internal/option"
)

// Option configures [NewBus]. A zero or nil value given to an option means
// its default; a value the option cannot take makes NewBus return an error
// that wraps [synclayer.ErrInvalidOption] and names the option.
type Option func(*Bus) error

// shared wraps a setting every bus has as an Option.
func shared(o config.Option) Option { return func(b *Bus) error { return o(&b.cfg) } }

// WithGroup sets the consumer group: subscribers with the same group share
// the events. "" means the default, "synclayer".
func WithGroup(name string) Option { return shared(config.Group(name)) }

// WithMaxDeliveries sets how many times an entry is delivered before it is
// appended to the dead-letter stream, [Bus.DeadLetterStream]. 0 means the
// default, 5; a negative n is an error.
func WithMaxDeliveries(n int) Option { return shared(config.MaxDeliveries(n)) }

// WithRedeliveryDelay sets how long an entry whose handler failed once
// stays with the retry consumer before a subscriber claims it back; each
// further failure doubles it, up to 64 times this delay. 0 means the
// default, 1s; a negative d is an error.
func WithRedeliveryDelay(d time.Duration) Option { return shared(config.RedeliveryDelay(d)) }

// WithClaimIdle sets how long an entry delivered to a consumer may go
// without news before another consumer reclaims it with XAUTOCLAIM.
// Subscribers keep the entries they handle, or hold for a free handler
// slot, fresh every third of this time, so only the entries of dead
// consumers are reclaimed; the subscribers look for such entries every
// fifth of it. 0 means the default, 10s; a negative d is an error.
func WithClaimIdle(d time.Duration) Option {
	return func(b *Bus) error { return option.Set("WithClaimIdle", d, 0, &b.claimIdle) }
}

// WithMaxLen bounds each stream to about n entries, trimmed approximately
// on every XADD. Entries trimmed before a consumer read them are lost:
// size it well above the backlog you expect. 0 means the default,
// 100,000; a negative n is an error.
func WithMaxLen(n int64) Option {
	return func(b *Bus) error { return option.Set("WithMaxLen", n, 0, &b.maxLen) }
}

// WithConcurrency sets how many handler calls each Subscribe runs at once.
// 0 means the default, 64: on the durable path each handler call waits on
// store round trips, so throughput grows with it; with a shared database
// or Redis store, 512 (see the README's "The durable path"). A negative n
// is an error.
func WithConcurrency(n int) Option { return shared(config.Concurrency(n)) }

// WithLogger sets where the bus logs what it cannot return: a failed
// acknowledgement, a dead letter. nil, the default, logs nothing.
func WithLogger(l *slog.Logger) Option { return shared(config.Logger(l)) }
