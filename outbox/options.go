package outbox

import (
	"log/slog"
	"time"

	"github.com/hmsplatform/synclayer/internal/option"
)

// Option configures an [Outbox]. A zero value (0, nil) means the default;
// an invalid value makes [New] return an error that names the option and
// wraps synclayer.ErrInvalidOption.
type Option func(*Outbox) error

// The defaults of the options.
const (
	defaultBatch      = 256
	defaultLease      = 10 * time.Second
	minLease          = 100 * time.Millisecond
	defaultPoll       = 100 * time.Millisecond
	defaultNotifyPoll = time.Second // when NOTIFY wakes the relay
)

// WithBatch sets how many events one relay round claims at most (default
// 256). The round publishes them together (they all have different
// subjects): with one PublishBatch call when the publisher is a
// [bus.BatchPublisher], else with concurrent Publish calls. A
// negative n is an error.
func WithBatch(n int) Option {
	return func(o *Outbox) error {
		return option.Set("WithBatch", n, defaultBatch, &o.batch)
	}
}

// WithLease sets how long a relay's claim on an event lasts (default 10s).
// A relay that dies loses its claims after this time, and another relay
// publishes the events again. A relay gives up a publish after a third of
// it.
// A value other than 0 must be at least 100ms.
func WithLease(d time.Duration) Option {
	return func(o *Outbox) error {
		if d != 0 && d < minLease {
			return option.Invalid("WithLease", d, "must be at least 100ms")
		}
		o.lease = option.Default(d, defaultLease)
		return nil
	}
}

// WithPollInterval sets how long an idle relay waits before it looks for
// new events again (default 100ms; on PostgreSQL with the pgx driver,
// where NOTIFY wakes the relay at each commit, 1s). A negative d is an
// error.
func WithPollInterval(d time.Duration) Option {
	return func(o *Outbox) error {
		return option.Set("WithPollInterval", d, 0, &o.poll)
	}
}

// WithLogger sets where a relay reports the failures it retries: a
// database error, an event the publisher refused (default, and for nil:
// nowhere).
func WithLogger(l *slog.Logger) Option {
	return func(o *Outbox) error { o.log = l; return nil }
}

// WithoutNotify makes a PostgreSQL relay poll instead of listening for
// the outbox's notifications (default: listen when the driver is pgx).
func WithoutNotify() Option {
	return func(o *Outbox) error { o.noNotify = true; return nil }
}
