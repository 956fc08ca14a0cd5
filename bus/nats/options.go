package nats

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

// WithSubjectPrefix sets the prefix of the bus's subjects. "" means the
// default, the stream name; a prefix that is not a valid subject is an
// error.
func WithSubjectPrefix(p string) Option {
	return func(b *Bus) error {
		return config.SetName("WithSubjectPrefix", p, validSubject, "not a valid subject", &b.prefix)
	}
}

// WithGroup sets the consumer group: subscribers with the same group share
// the events. "" means the default, "synclayer"; a name with other than
// ASCII letters, digits, '-' and '_' is an error.
func WithGroup(name string) Option {
	return shared(config.GroupWhere(name, validName, "letters, digits, '-' and '_' only"))
}

// WithMaxDeliveries sets how many times an event is delivered before it is
// published to the dead-letter subject, [Bus.DeadLetterSubject]. 0 means
// the default, 5; a negative n is an error.
func WithMaxDeliveries(n int) Option { return shared(config.MaxDeliveries(n)) }

// WithRedeliveryDelay sets the delay of the negative acknowledgement that
// follows a handler's first failure on an event; each further failure
// doubles it, up to 64 times this delay. 0 means the default, 1s; a
// negative d is an error.
func WithRedeliveryDelay(d time.Duration) Option { return shared(config.RedeliveryDelay(d)) }

// WithAckWait sets how long the broker waits for an acknowledgement before
// it redelivers an event, e.g. because its process died. Handlers may run
// longer: the bus tells the broker every third of this time that they are
// in progress. 0 means the default, 10s; a negative d is an error.
func WithAckWait(d time.Duration) Option {
	return func(b *Bus) error { return option.Set("WithAckWait", d, 0, &b.ackWait) }
}

// WithConcurrency sets how many handler calls each Subscribe runs at once.
// 0 means the default, 64: on the durable path each handler call waits on
// store round trips, so throughput grows with it; with a shared database
// or Redis store, 512 (see the README's "The durable path"). The calls
// run on up to n goroutines, started as needed and kept until Subscribe
// returns. A negative n is an error.
func WithConcurrency(n int) Option { return shared(config.Concurrency(n)) }

// WithLogger sets where the bus logs what it cannot return: a failed
// acknowledgement, a dead letter. nil, the default, logs nothing.
func WithLogger(l *slog.Logger) Option { return shared(config.Logger(l)) }
