// Package synclayer keeps partner systems in step with the platform's
// domain events.
//
// When the platform deploys a workflow or updates a policy, a partner
// agency's calendar, its GIS resource planner and its records database must
// reflect it at once. synclayer hears the domain event on an event bus, maps
// it into each partner's own format, pushes it through one [Connector] per
// partner, retries what fails without ever creating a duplicate, and
// announces the outcome.
//
// # The central use case
//
//	reg := new(synclayer.Registry)
//	reg.Register("calendar", calendarConn,
//		synclayer.Route("WorkflowDeployed", synclayer.MapJSON(toCalendarEvent)))
//	reg.Register("records", recordsConn,
//		synclayer.Route("WorkflowDeployed", synclayer.MapJSON(toRecord)),
//		synclayer.WithRetry(synclayer.RetryPolicy{MaxAttempts: 8}))
//
//	d, err := synclayer.NewDispatcher(&reg, synclayer.WithPublisher(bus))
//	if err != nil {
//		return err
//	}
//	err = d.Run(ctx, bus) // until ctx ends
//
// The runnable version is examples/workflowsync.
//
// # The path of one event
//
// [Dispatcher.Run] subscribes to the event types of the [Registry] and hands
// each delivered [Event] to [Dispatcher.Dispatch], which works on every
// connector routed for the event's type concurrently. For each one it:
//
//  1. maps the event with the route's [Mapper] into a [Record] (a key, a
//     version and a connector-specific payload);
//  2. serialises on (connector, key): in process, events for one key run in
//     arrival order, and across processes the [Store]'s lease keeps two
//     pushes of one key apart;
//  3. asks the [Store] whether this event was already pushed (Duplicate) or
//     a newer version was already applied (Stale), and if so stops;
//  4. calls [Connector.Sync] under the connector's [RetryPolicy], with a
//     per-attempt timeout, a concurrency limit and an optional rate limit;
//  5. records the outcome in the store;
//
// and returns a [Report] with one [Result] per connector. Then it publishes
// [SyncCompleted] or [SyncFailed] (an [Announcement]) to the [Publisher].
//
// # The guarantee
//
// At-least-once delivery from the bus, idempotent upsert-by-key connectors
// and the idempotency store together give exactly one record per key in
// every partner system, holding the newest version, even when pushes fail,
// responses are lost after the partner applied them, events are redelivered
// or arrive out of order, or the process dies mid-push. Announcements follow
// the same rule: at least once, deduplicated, so a redelivery that finds
// everything done announces nothing again.
//
// # Connectors
//
// A [Connector] has one method and must be idempotent. It classifies its
// errors and returns at once; only the dispatcher retries. Wrap an error with
// [Permanent] when retrying cannot help, and with [RetryAfter] when the
// partner said when to come back; anything else is retried. Ready
// connectors live in connectors/ (rest, webhook, soap, googlecalendar,
// caldav, arcgis); [ConnectorFunc] adapts a function.
//
// # Retries
//
// A [RetryPolicy] is exponential backoff with jitter, bounded by attempts
// and by elapsed time; zero fields take their defaults. A
// route whose retries are spent has failed for good: it is reported as
// [StatusFailed] with a permanent error, announced with SyncFailed, and
// [Dispatcher.Run] tells the bus to dead-letter the event.
//
// # Stores
//
// The [Store] holds leases, done-markers and versions. [MemoryStore] is
// the default, for one process; idempotency/sqlstore (PostgreSQL, MariaDB,
// SQLite) and idempotency/redisstore are durable and shared by several
// processes. synclayertest.TestStore checks any implementation.
//
// # The durable path
//
// Several replicas consuming one broker and sharing one durable store is
// how a real deployment runs. Three rules keep it fast and safe:
//
//   - Leases are short and renewed. With a store that is an
//     [idempotency.LeaseRenewer], a lease lives [WithLeaseTTL] (10s by
//     default) and is renewed from the claim until the route has settled
//     it; the push is cancelled before the lease could end unless a
//     renewal was confirmed in time. A process that dies frees its keys
//     within one TTL.
//   - A busy key never holds a handler slot for long. A route whose key
//     another process holds hands its event back to the bus with
//     [Redeliver] after a quarter of a second; bus adapters
//     redeliver it soon without counting it toward dead-lettering, so keys
//     the other process never touched keep flowing. A delivery whose key
//     this process's own Dispatch, Resync or drain holds while it waits
//     for that lease is handed back at once, instead of waiting in line
//     behind it; behind a push under way in this process it waits its
//     turn.
//   - Nothing acknowledged lives only in memory. A route held by
//     [Dispatcher.Pause] or an open circuit breaker is acknowledged only
//     when its pending entry is in an [idempotency.DurableLog] (sqlstore's
//     log); otherwise the event goes back to the bus. A drain push of a
//     pending entry that fails for a reason that may pass (its context
//     ended, the store did not answer) leaves it pending for the next
//     drain, which under [Dispatcher.Run] comes by itself after a delay
//     growing from 1s to 30s; only a failure for good makes it dead, as
//     does an entry no drain can push (no route to the connector any
//     more, no event kept).
//   - Held routes keep their key's order. A new event of a key that still
//     has pending entries, or whose pending entry a drain is pushing,
//     queues behind them, as pending too, so the drain pushes the key's
//     events in arrival order and a record without a version ends at the
//     newest; other keys flow live.
//
// Durable stores group-commit: the concurrent claims and completes of one
// process go to the database together, one statement per round trip, and a
// store that is a [LogCompleter] writes the delivery log's entry in the same
// round trip as the Complete.
//
// # Buses
//
// [Publisher] and [Subscriber] are the bus adapter interfaces. bus/memory
// is in process; bus/nats, bus/redisstream, bus/amqp and bus/kafka use real
// brokers, whose consumer groups let several instances share the work.
//
// # Observing
//
// An [Observer] hears every attempt and every result. The default writes
// structured records with log/slog ([LogObserver]); [WithObserver] takes
// several, and [NoObserver] turns observation off.
//
// # Errors
//
// Every error of a route is a [*SyncError] naming the event, the connector
// and the key, and wraps a category that [errors.Is] can test: [ErrMapping]
// (a bad key included), [ErrInvalidEvent], [ErrStore], [ErrPublish],
// [ErrUnknownConnector], [ErrInvalidOption]. A route whose mapper or
// connector panicked failed for good with a [*PanicError]: the panic's value
// stays out of error texts (they travel in announcements), and PanicError
// keeps it for the local log.
// Bad input (malformed JSON, bad keys, oversized events) fails only its own
// route or event, permanently; a mapper or connector that panics is
// recovered; nothing panics out of the library.
//
// # Options
//
// Every constructor of the module follows one rule: a zero or nil value
// means the default, a bad value makes the constructor (or
// [Registry.Register], for connector options) return an error wrapping
// [ErrInvalidOption] that names the option, nothing panics, and "off" is a
// named value ([NoObserver], [NoDeliveryLog]). Types configured by their
// fields ([RetryPolicy], [BreakerPolicy], [MemoryStore], [MemoryLog]) take
// the default for every zero field.
//
// # The exported names, by audience
//
// Those who wire the library into a service:
//
//   - events in and out: [Event], [Publisher], [Subscriber], [SyncCompleted],
//     [SyncFailed], [Announcement], [AnnouncedResult], [Redeliver],
//     [RedeliverAfter] (package bus adds batch publishing);
//   - the registry: [Registry], [Route], [ConnectorOption], [WithRetry],
//     [RetryPolicy], [WithTimeout], [WithConcurrency], [WithRateLimit],
//     [WithBreaker], [BreakerPolicy];
//   - the dispatcher: [NewDispatcher], [Dispatcher], [Option], [WithStore],
//     [WithPublisher], [WithObserver], [WithDeliveryLog], [WithLedger],
//     [WithSource], [WithRetention], [WithDrainTimeout], [WithLeaseTTL],
//     [WithMaxEventBytes], [NoObserver], [NoDeliveryLog], [NoLedger],
//     [ErrInvalidOption];
//   - outcomes: [Report], [Result], [Status] and its values, [SyncError],
//     [PanicError], [ErrInvalidEvent], [ErrMapping], [ErrStore],
//     [ErrPublish];
//   - stores and logs: [Store], [MemoryStore], [DeliveryLog], [MemoryLog],
//     [LogCompleter], [Ledger]. Those who write a store find the types of
//     its calls, and the optional interfaces it may add, in package
//     idempotency.
//
// Those who write connectors and mappings: [Connector], [ConnectorFunc],
// [Record], [PartnerIDSyncer], [Mapper], [MapperFunc], [MapJSON],
// [Permanent], [IsPermanent], [RetryAfter]. The synclayertest package holds
// their fakes and conformance suites, and package drift the interfaces of
// a connector that can read its partner back.
//
// Those who operate it:
//
//   - controls: [Dispatcher.Pause], [Dispatcher.Resume],
//     [Dispatcher.Replay], [Dispatcher.DeadLetters], [Dispatcher.Watch],
//     [ErrUnknownConnector];
//   - what each push did: [Dispatcher.Deliveries], [DeliveryFilter],
//     [Delivery], [Dispatcher.Status], [ConnectorStatus], [BreakerState] and
//     its values;
//   - what each partner holds: [Dispatcher.Holding], [Holding],
//     [LedgerSummary], [Drift] and its values; and [Dispatcher.Resync] with
//     [ResyncOptions] and [ResyncProgress] to push it all again;
//   - the observers: [Observer], [Attempt], [LogObserver], [EventObserver],
//     [BreakerObserver].
//
// The monitor package serves all of it over HTTP, and otelsync turns it
// into OpenTelemetry.
//
// # Concurrency
//
// [Registry], [Dispatcher], [MemoryStore] and [MemoryLog] are safe for
// concurrent use, and the zero values of Registry, MemoryStore and
// MemoryLog are ready to use. Connectors, mappers, stores, publishers and
// observers must be safe for concurrent use too.
package synclayer
