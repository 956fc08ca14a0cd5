package amqp

import (
	"log/slog"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

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
// one queue, "<exchange>.<group>". "" means the default group,
// "synclayer".
func WithGroup(name string) Option { return shared(config.Group(name)) }

// WithMaxDeliveries sets how many times a message is delivered before a
// copy goes to the dead-letter queue, [Bus.DeadLetterQueue]. 0 means the
// default, 5; a negative n is an error.
func WithMaxDeliveries(n int) Option { return shared(config.MaxDeliveries(n)) }

// WithRedeliveryDelay sets the TTL of the first retry queue, where a
// message waits after its handler failed once; each further failure
// doubles it, up to 64 times this delay. 0 means the default, 1s. Queue
// TTLs are whole milliseconds, so a d that is negative or under a
// millisecond is an error.
func WithRedeliveryDelay(d time.Duration) Option {
	return func(b *Bus) error {
		if d != 0 && d < time.Millisecond {
			return option.Invalid("WithRedeliveryDelay", d, "must be 0 (the default) or at least 1ms")
		}
		return config.RedeliveryDelay(d)(&b.cfg)
	}
}

// WithConcurrency sets how many handler calls each Subscribe runs at once,
// which is also its prefetch count. 0 means the default, 64: on the
// durable path each handler call waits on store round trips, so
// throughput grows with it; with a shared database or Redis store, 512
// (see the README's "The durable path"). A negative n is an error.
func WithConcurrency(n int) Option { return shared(config.Concurrency(n)) }

// WithConfig sets the amqp091 connection configuration (TLS, heartbeat, a
// custom Dial, ...). The zero Config, the default, is amqp091's defaults.
func WithConfig(c amqp.Config) Option { return func(b *Bus) error { b.dial = c; return nil } }

// WithLogger sets where the bus logs what it cannot return: a failed
// acknowledgement, a dead letter, a lost channel. nil, the default, logs
// nothing.
func WithLogger(l *slog.Logger) Option { return shared(config.Logger(l)) }
