package otelsync

import (
	"go.opentelemetry.io/otel/attribute"
)

// ScopeName is the instrumentation scope of the tracer and meter.
const ScopeName = "github.com/hmsplatform/synclayer/otelsync"

// Attribute keys set on spans and metric points.
const (
	AttrEventID     = attribute.Key("synclayer.event.id")
	AttrEventType   = attribute.Key("synclayer.event.type")
	AttrEventSource = attribute.Key("synclayer.event.source")
	AttrConnector   = attribute.Key("synclayer.connector")
	AttrKey         = attribute.Key("synclayer.key")
	AttrAttempt     = attribute.Key("synclayer.attempt")
	AttrRetryIn     = attribute.Key("synclayer.retry_in_ms")
	AttrStatus      = attribute.Key("synclayer.status")
	AttrOutcome     = attribute.Key("synclayer.outcome")
	AttrBreaker     = attribute.Key("synclayer.breaker.state")
)

// Metric names.
const (
	MetricDeliveries      = "synclayer.deliveries"
	MetricAttemptDuration = "synclayer.attempt.duration"
	MetricRetries         = "synclayer.retries"
	MetricInFlight        = "synclayer.events.in_flight"
	MetricBreakerState    = "synclayer.breaker.state"
	MetricBreakerChanges  = "synclayer.breaker.transitions"
	MetricDeadLetters     = "synclayer.dead_letters"
	MetricConnInFlight    = "synclayer.connector.in_flight"
	MetricConnPending     = "synclayer.connector.pending"
	MetricLedgerBehindAge = "synclayer.ledger.oldest_behind.age"
)
