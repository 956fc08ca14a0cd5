// Package otelsync reports a [synclayer.Dispatcher]'s work to
// OpenTelemetry: traces of every event and every push attempt, and metrics
// of deliveries, attempt durations, retries, events in flight, circuit
// breakers and dead letters.
//
// Install it as the dispatcher's observer, alone or beside the default log
// observer:
//
//	obs, err := otelsync.New(otelsync.WithTracerProvider(tp), otelsync.WithMeterProvider(mp))
//	...
//	d := synclayer.NewDispatcher(reg, synclayer.WithObserver(
//		synclayer.LogObserver(logger), obs))
//
// # Configuration
//
// [New] takes the tracer provider, the meter provider and the propagator
// that reads the publisher's trace context from Event.Meta. Each defaults to
// OpenTelemetry's global one ([otel.GetTracerProvider],
// [otel.GetMeterProvider]) or, for the propagator, to W3C Trace Context, so
// New() with no options works and costs nothing until a provider is set.
// A nil option value means the same default. To turn traces or metrics
// off, pass OpenTelemetry's no-op provider (packages trace/noop and
// metric/noop).
//
// # Traces
//
// Each dispatched event gets a span of kind consumer named "sync " + its
// type, with the attributes synclayer.event.id, synclayer.event.type and
// synclayer.event.source. The publisher puts its "traceparent" in
// Event.Meta (propagation.TraceContext{}.Inject with a
// propagation.MapCarrier); the event span then belongs to the publisher's
// trace, as the child of the publisher's span, or, when the context given
// to Dispatch already holds a span of this process, as that span's child
// with a link to the publisher's span. A missing or malformed traceparent
// gives a root span. The span ends with an error status when a route
// failed, and carries one "result" span event per route (connector, status,
// key, attempts, error).
//
// Each call of Connector.Sync gets a span of kind client named "push " +
// the connector, the event span's child, with the attempt's real start and
// end times and the attributes synclayer.connector, synclayer.key,
// synclayer.attempt and, when a retry follows, synclayer.retry_in_ms. A
// failed attempt has an error status and the error recorded. The attempt
// span is made when the attempt has ended (the dispatcher reports attempts
// afterwards), so spans the connector's own HTTP client starts are children
// of the event span, not of the attempt span.
//
// Routes pushed again by [synclayer.Dispatcher.Replay] or
// [synclayer.Dispatcher.Resume] are not dispatched events: their attempt
// spans are children of whatever span the caller's context holds.
//
// # Metrics
//
//   - synclayer.deliveries (counter): route outcomes by synclayer.connector
//     and synclayer.status (synced, duplicate, stale, pending, failed).
//   - synclayer.attempt.duration (histogram, seconds): each Sync call, by
//     synclayer.connector and synclayer.outcome (ok, error).
//   - synclayer.retries (counter): attempts after the first, by connector.
//   - synclayer.events.in_flight (up-down counter): events being dispatched.
//   - synclayer.breaker.state (gauge): 0 closed, 1 open, 2 half-open, by
//     connector, set when a breaker changes state.
//   - synclayer.breaker.transitions (counter): by connector and
//     synclayer.breaker.state, the new state.
//   - synclayer.dead_letters (counter): routes that failed for good, by
//     connector.
//
// [Observer.WatchDispatcher] adds, read from [synclayer.Dispatcher.Status]
// at each collection, synclayer.connector.in_flight (attempts under way)
// and synclayer.connector.pending (routes queued while paused or while the
// breaker was open).
//
// [Observer.WatchLedger] adds, read from the dispatcher's freshness ledger
// ([synclayer.Dispatcher.Ledger]) at each collection,
// synclayer.ledger.oldest_behind.age (gauge, seconds): per connector, how
// long the key behind for the longest has been behind (its
// LedgerSummary.OldestBehindAt), 0 when none is. Alert on it to learn that
// a partner stopped getting updates of some key.
//
// Attributes never include payloads; error texts come from the connectors,
// which keep secrets out of them.
//
// An [Observer] is safe for concurrent use.
package otelsync
