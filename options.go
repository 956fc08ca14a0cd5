package synclayer

import (
	"errors"
	"fmt"
	"time"

	"github.com/hmsplatform/synclayer/internal/option"
	"golang.org/x/time/rate"
)

// Option configures a [Dispatcher].
type Option func(*Dispatcher)

// WithStore sets the idempotency store (default: a [NewMemoryStore]).
// A nil store keeps the default.
func WithStore(s Store) Option {
	return func(d *Dispatcher) {
		if s != nil {
			d.store = s
		}
	}
}

// WithPublisher sets where SyncCompleted and SyncFailed go (default: they
// are not published).
func WithPublisher(p Publisher) Option { return func(d *Dispatcher) { d.pub = p } }

// WithObserver sets the observer (default: [LogObserver] of
// [slog.Default]). A nil observer observes nothing; combine several with
// [Observers].
func WithObserver(o Observer) Option { return func(d *Dispatcher) { d.obs = o } }

// WithSource sets the Source of announcement events (default "synclayer").
func WithSource(source string) Option { return func(d *Dispatcher) { d.source = source } }

// WithRetention sets how long done-markers are kept (default 7 days): a
// redelivery within it is reported Duplicate without a push.
func WithRetention(d time.Duration) Option {
	return func(x *Dispatcher) {
		if d > 0 {
			x.retention = d
		}
	}
}

// WithDrainTimeout sets how long [Dispatcher.Run] lets in-flight dispatches
// finish after its context ends before cancelling them (default 30s).
func WithDrainTimeout(d time.Duration) Option {
	return func(x *Dispatcher) {
		if d >= 0 {
			x.drainTimeout = d
		}
	}
}

// WithDeliveryLog sets the delivery log that records the state of every
// (event, connector) delivery, keeps dead letters for [Dispatcher.Replay]
// and pending routes for [Dispatcher.Resume] (default: a [NewMemoryLog] of
// 10,000 entries). nil turns the log off, and with it replay and pausing.
// Only a log that survives a restart ([DurableLog], such as sqlstore's)
// lets [Dispatcher.Run] acknowledge an event whose route it holds.
func WithDeliveryLog(l DeliveryLog) Option { return func(d *Dispatcher) { d.log = l; d.logSet = true } }

// WithLeaseTTL sets how long the lease on a record key lives without being
// renewed (default [DefaultLeaseTTL]), when the store can renew leases
// ([LeaseRenewer]; the durable stores can). While a push runs, the
// dispatcher renews its lease every third of the TTL, retry waits
// included, and releases it as soon as the route ends; a process that dies
// stops renewing, so its keys free up within one TTL. A push that loses
// its lease (the store could not renew it in time and another process took
// the key) is cancelled and left for a redelivery. A zero or negative d
// keeps the default. A store without renewal gets leases that cover the
// connector's whole retry budget instead.
func WithLeaseTTL(d time.Duration) Option {
	return func(x *Dispatcher) {
		if d > 0 {
			x.leaseTTL = d
		}
	}
}

// WithMaxEventBytes bounds the size of Event.Data (default 1 MiB). A larger
// event is refused with a permanent [ErrInvalidEvent] before any decoding.
func WithMaxEventBytes(n int) Option {
	return func(d *Dispatcher) {
		if n > 0 {
			d.maxEventBytes = n
		}
	}
}

// Limits on input, applied by every Dispatcher.
const (
	// MaxKeyBytes is the longest Record.Key accepted.
	MaxKeyBytes = 1024
	// DefaultMaxEventBytes is the default bound on Event.Data.
	DefaultMaxEventBytes = 1 << 20
	// DefaultLeaseTTL is the default of [WithLeaseTTL].
	DefaultLeaseTTL = 10 * time.Second
)

// Defaults of a connector registered without the matching option.
const (
	defaultTimeout     = 30 * time.Second // per attempt
	defaultConcurrency = 32               // Sync calls in flight per connector
)

// ConnectorOption configures one connector at [Registry.Register].
type ConnectorOption func(*connConfig) error

type connConfig struct {
	routes      []route
	policy      RetryPolicy
	timeout     time.Duration
	concurrency int
	rateLimit   rate.Limit
	burst       int
	breaker     *BreakerPolicy
}

// Route sends events of eventType to the connector, mapped by m. Repeat it
// for each event type the connector handles; a connector needs at least one.
func Route(eventType string, m Mapper) ConnectorOption {
	return func(c *connConfig) error {
		if eventType == "" {
			return errors.New("route with an empty event type")
		}
		if m == nil {
			return fmt.Errorf("route %q has a nil mapper", eventType)
		}
		for _, r := range c.routes {
			if r.eventType == eventType {
				return fmt.Errorf("event type %q routed twice", eventType)
			}
		}
		c.routes = append(c.routes, route{eventType: eventType, mapper: m})
		return nil
	}
}

// WithRetry sets the connector's retry policy (default [DefaultRetryPolicy];
// zero fields take its values, a negative field is an error).
func WithRetry(p RetryPolicy) ConnectorOption {
	return func(c *connConfig) error {
		if p.MaxAttempts < 0 || p.InitialInterval < 0 || p.MaxInterval < 0 || p.MaxElapsed < 0 || p.Multiplier < 0 {
			return option.Invalid("WithRetry", fmt.Sprintf("%+v", p), "a field is negative")
		}
		c.policy = p
		return nil
	}
}

// WithTimeout bounds each attempt of Sync (default 30s; zero keeps the
// default, a negative value is an error).
func WithTimeout(perAttempt time.Duration) ConnectorOption {
	return func(c *connConfig) error {
		if err := option.NonNegative("WithTimeout", perAttempt); err != nil {
			return err
		}
		c.timeout = option.Default(perAttempt, defaultTimeout)
		return nil
	}
}

// WithConcurrency bounds how many Sync calls of the connector run at once
// (default 32; zero keeps the default, a negative value is an error).
// Waiting for a retry does not hold a slot.
func WithConcurrency(n int) ConnectorOption {
	return func(c *connConfig) error {
		if err := option.NonNegative("WithConcurrency", n); err != nil {
			return err
		}
		c.concurrency = option.Default(n, defaultConcurrency)
		return nil
	}
}

// WithRateLimit bounds the connector's attempts to perSecond on average,
// with bursts of up to burst (default: no limit, which a zero perSecond
// keeps; a zero burst means 1). Retries count too. A negative value is an
// error.
func WithRateLimit(perSecond float64, burst int) ConnectorOption {
	return func(c *connConfig) error {
		if err := option.NonNegative("WithRateLimit", perSecond); err != nil {
			return err
		}
		if err := option.NonNegative("WithRateLimit burst", burst); err != nil {
			return err
		}
		c.rateLimit, c.burst = rate.Limit(perSecond), option.Default(burst, 1)
		return nil
	}
}

// WithBreaker gives the connector a circuit breaker (default: none). Zero
// fields of p take their defaults; a failure rate outside [0, 1] is an
// error.
func WithBreaker(p BreakerPolicy) ConnectorOption {
	return func(c *connConfig) error {
		if p.FailureRate < 0 || p.FailureRate > 1 {
			return option.Invalid("WithBreaker", p.FailureRate, "the failure rate is outside [0, 1]")
		}
		pp := p.withDefaults()
		c.breaker = &pp
		return nil
	}
}
