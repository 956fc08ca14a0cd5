package synclayer

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hmsplatform/synclayer/internal/option"
	"golang.org/x/time/rate"
)

// Option configures a [Dispatcher]. Every option follows one rule: a zero
// or nil value means the default, a bad value (a negative duration) makes
// [NewDispatcher] return an error wrapping [ErrInvalidOption], and "off" is
// a named value ([NoObserver], [NoDeliveryLog]).
type Option func(*Dispatcher) error

// WithStore sets the idempotency store (default, and with nil: a new
// [MemoryStore]).
func WithStore(s Store) Option {
	return func(d *Dispatcher) error {
		d.store = s
		return nil
	}
}

// WithPublisher sets where SyncCompleted and SyncFailed go (default, and
// with nil: they are not published).
func WithPublisher(p Publisher) Option {
	return func(d *Dispatcher) error {
		d.pub = p
		return nil
	}
}

// WithObserver sets the observers, which hear every attempt and result in
// the order given (their optional hooks too). Nil entries are skipped; with
// none left the default holds: [LogObserver] of [slog.Default].
// [NoObserver] alone observes nothing; beside others it adds nothing.
func WithObserver(obs ...Observer) Option {
	return func(d *Dispatcher) error {
		d.obs = combine(obs)
		return nil
	}
}

// WithSource sets the Source of announcement events (default, and with "":
// "synclayer").
func WithSource(source string) Option {
	return func(d *Dispatcher) error {
		d.source = source
		return nil
	}
}

// WithRetention sets how long done-markers are kept (default, and with 0:
// 7 days): a redelivery within it is reported Duplicate without a push.
func WithRetention(keep time.Duration) Option {
	return func(d *Dispatcher) error {
		d.retention = keep
		return option.NonNegative("WithRetention", keep)
	}
}

// WithDrainTimeout sets how long [Dispatcher.Run] lets in-flight dispatches,
// and the pushes of its background drains under way, finish after its
// context ends before cancelling them (default, and with 0: 30s).
func WithDrainTimeout(wait time.Duration) Option {
	return func(d *Dispatcher) error {
		d.drainTimeout = wait
		return option.NonNegative("WithDrainTimeout", wait)
	}
}

// WithDeliveryLog sets the delivery log that records the state of every
// (event, connector) delivery, keeps dead letters for [Dispatcher.Replay]
// and pending routes for [Dispatcher.Resume] (default, and with nil: a
// [MemoryLog] of 20,000 records). [NoDeliveryLog] turns the log off, and
// with it replay and pausing. Only a log that survives a restart
// ([idempotency.DurableLog], such as sqlstore's) lets [Dispatcher.Run] acknowledge an
// event whose route it holds.
func WithDeliveryLog(l DeliveryLog) Option {
	return func(d *Dispatcher) error {
		d.log = l
		return nil
	}
}

// WithLedger sets the freshness ledger, which the Dispatcher then writes
// after every push. By default (and with nil) the store is the ledger when
// it is one (the [MemoryStore], sqlstore's and redisstore's are: each
// writes the entry with Complete, in the same statement), else a new
// [MemoryStore] used as a ledger only (bounded by its default MaxEntries;
// an entry that is behind is never the one forgotten). [NoLedger] turns the ledger off, and with it
// [Dispatcher.Holding]; a store that is a ledger still keeps its entries.
func WithLedger(l Ledger) Option {
	return func(d *Dispatcher) error {
		d.ledger = l
		return nil
	}
}

// NoLedger, given to [WithLedger], turns the freshness ledger off.
var NoLedger Ledger = noLedger{}

type noLedger struct{}

func (noLedger) Pushed(context.Context, Holding) error                            { return nil }
func (noLedger) Want(context.Context, string, string, int64) error                { return nil }
func (noLedger) Verified(context.Context, string, string, time.Time, Drift) error { return nil }
func (noLedger) Holding(context.Context, string, string) (Holding, bool, error) {
	return Holding{}, false, errNoLedger
}
func (noLedger) Holdings(context.Context, string, string, int) ([]Holding, error) {
	return nil, errNoLedger
}
func (noLedger) Summary(context.Context, string) (LedgerSummary, error) {
	return LedgerSummary{}, errNoLedger
}

// WithLeaseTTL sets how long the lease on a record key lives without being
// renewed (default, and with 0: 10s), when the store can renew leases
// ([idempotency.LeaseRenewer]; the durable stores can). While a push runs, the
// dispatcher renews its lease every third of the TTL, retry waits
// included, and releases it as soon as the route ends; a process that dies
// stops renewing, so its keys free up within one TTL. A push that loses
// its lease is cancelled and left for a redelivery: the store said the
// lease is gone, or a renewal failed when the lease could end before the
// next one is confirmed (the push is then cancelled before the lease ends,
// so no other process finds it still running). A store without renewal
// gets leases that cover the connector's whole retry budget instead.
func WithLeaseTTL(ttl time.Duration) Option {
	return func(d *Dispatcher) error {
		d.leaseTTL = ttl
		return option.NonNegative("WithLeaseTTL", ttl)
	}
}

// WithMaxEventBytes bounds the size of Event.Data (default, and with 0:
// 1 MiB). A larger event is refused with a permanent [ErrInvalidEvent]
// before any decoding.
func WithMaxEventBytes(n int) Option {
	return func(d *Dispatcher) error {
		d.maxEventBytes = n
		return option.NonNegative("WithMaxEventBytes", n)
	}
}

// NoObserver, given to [WithObserver], turns observation off: no log lines,
// no metrics, no traces.
var NoObserver Observer = noObserver{}

type noObserver struct{}

func (noObserver) ObserveAttempt(context.Context, Attempt)      {}
func (noObserver) ObserveResult(context.Context, Event, Result) {}

// NoDeliveryLog, given to [WithDeliveryLog], turns the delivery log off,
// and with it [Dispatcher.Pause], [Dispatcher.Replay] and
// [Dispatcher.Deliveries]. Used as a log, it keeps nothing.
var NoDeliveryLog DeliveryLog = noLog{}

type noLog struct{}

func (noLog) Put(context.Context, Delivery) error                      { return nil }
func (noLog) List(context.Context, DeliveryFilter) ([]Delivery, error) { return nil, nil }

// Defaults of the Dispatcher's options.
const (
	defaultSource        = "synclayer"
	defaultRetention     = 7 * 24 * time.Hour
	defaultDrainTimeout  = 30 * time.Second
	defaultLeaseTTL      = 10 * time.Second
	defaultMaxEventBytes = 1 << 20
)

// maxKeyBytes is the longest Record.Key accepted.
const maxKeyBytes = 1024

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

// WithRetry sets the connector's retry policy (default: the zero
// [RetryPolicy]; zero fields take their defaults, a negative field is an
// error).
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
		return option.Set("WithTimeout", perAttempt, defaultTimeout, &c.timeout)
	}
}

// WithConcurrency bounds how many Sync calls of the connector run at once
// (default 32; zero keeps the default, a negative value is an error).
// Waiting for a retry does not hold a slot.
func WithConcurrency(n int) ConnectorOption {
	return func(c *connConfig) error {
		return option.Set("WithConcurrency", n, defaultConcurrency, &c.concurrency)
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
