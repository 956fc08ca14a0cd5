package kafka

import (
	"log/slog"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hmsplatform/synclayer/bus/internal/config"
)

// Option configures [NewBus]. A zero or nil value given to an option means
// its default; a value the option cannot take makes NewBus return an error
// that wraps [synclayer.ErrInvalidOption] and names the option.
type Option func(*Bus) error

// shared wraps a setting every bus has as an Option.
func shared(o config.Option) Option { return func(b *Bus) error { return o(&b.cfg) } }

// WithGroup sets the consumer group. "" means the default, "synclayer"; a
// name that cannot be part of a topic name (ASCII letters, digits, '.',
// '_' and '-', at most 200 of them) is an error.
func WithGroup(name string) Option {
	return shared(config.GroupWhere(name, validTopicPart, "letters, digits, '.', '_' and '-' only, at most 200"))
}

// WithMaxDeliveries sets how many times a record is delivered before a
// copy goes to the dead-letter topic, [Bus.DeadLetterTopic]. 0 means the
// default, 5; a negative n is an error.
func WithMaxDeliveries(n int) Option { return shared(config.MaxDeliveries(n)) }

// WithRedeliveryDelay sets how long the retry copy of a record whose
// handler failed once waits in the retry topic; each further failure
// doubles it, up to 64 times this delay. 0 means the default, 1s; a
// negative d is an error.
func WithRedeliveryDelay(d time.Duration) Option { return shared(config.RedeliveryDelay(d)) }

// WithConcurrency sets how many partitions each Subscribe works on at
// once. Records of one partition are handled one at a time, in order; a
// record waiting for its retry time holds up only its own partition (see
// the package doc). 0 means the default, 16; a negative n is an error.
func WithConcurrency(n int) Option { return shared(config.Concurrency(n)) }

// WithClientOptions adds franz-go options to every client the bus makes
// (SASL, TLS, timeouts, ...). The bus sets the seed brokers, and for
// subscribers the group, topics and manual commits. None, the default,
// keeps franz-go's defaults, but for a subscriber's session timeout and
// fetch wait: [DefaultSessionTimeout] and [DefaultFetchMaxWait], which
// kgo.SessionTimeout and kgo.FetchMaxWait given here replace.
func WithClientOptions(opts ...kgo.Opt) Option {
	return func(b *Bus) error { b.clientOpts = append(b.clientOpts, opts...); return nil }
}

// WithLogger sets where the bus logs what it cannot return: a fetch or
// commit error, a dead letter. nil, the default, logs nothing.
func WithLogger(l *slog.Logger) Option { return shared(config.Logger(l)) }
