// Package bench holds the end-to-end benchmarks of the durable path: one
// Dispatcher consuming a real broker with a shared idempotency store, beside
// the broker's raw client doing the least work that gives the same
// guarantee. The package has no API; everything is in its tests.
//
// # BenchmarkDurable
//
// Each run of a sub-benchmark publishes 20,000 events over 2,000 record
// keys (versions rising per key) to fresh broker names and a fresh store
// table or prefix, then starts one Dispatcher with a no-op connector (the
// default WithConcurrency), the store, and the same bus as its Publisher,
// so every event is announced, and consumes with Run until every event
// has been acknowledged: a wrapper around the bus's handler counts the
// distinct events whose handler returned nil, the moment the bus
// acknowledges them. After the timed part the benchmark checks the broker
// itself: nothing left unacknowledged for the group, and 20,000
// announcements stored.
//
// The sub-benchmarks are named bus=<bus>/store=<store>/observer=<observer>:
//
//   - buses: nats (JetStream), redis (Redis Streams), amqp (RabbitMQ), and
//     memory (bus/memory, for the SQLite store);
//   - stores: memory (synclayer.MemoryStore), postgres and sqlite
//     (idempotency/sqlstore; SQLite is modernc.org/sqlite on a file in WAL
//     mode), redis (idempotency/redisstore);
//   - observers: none (WithObserver(synclayer.NoObserver)) and, for NATS with the memory
//     store, log (the default LogObserver, writing to a discarded slog text
//     handler at Info, so the cost of building its records is measured
//     without the terminal's).
//
// Each reports events/s (publish excluded: the events wait on the broker
// when Run starts) and pushes/event: 1 when every event was pushed once;
// above 1, pushes were repeated; below 1, a newer version of a key
// overtook an older one between the bus and the key's lock, and the older
// was skipped as stale.
// Broker sub-benchmarks also run the raw client over the same 20,000
// events, after the Dispatcher, through a second consumer group or queue
// that received them too, and report raw-events/s and of-raw (events/s ÷
// raw-events/s). The raw client decodes each event's CloudEvent, publishes
// one announcement (the CloudEvent the Dispatcher would send for it) and
// acknowledges the event once its announcement is stored, 100 events at a
// time:
//
//   - nats: Fetch(100), PublishAsync of the announcements with a message
//     ID (as the bus publishes), wait for their acks, then Ack each;
//   - redis: XREADGROUP COUNT 100, then one pipeline of an XADD per
//     announcement and one XACK of the batch's IDs;
//   - amqp: Consume with prefetch 100; each announcement is published,
//     persistent, on a confirm channel as its event arrives, and the event
//     is acknowledged once the broker confirmed it.
//
// Every sub-benchmark but bus=nats/store=memory is paired with that one,
// the baseline the targets divide by: in the same iteration, before or
// after the sub-benchmark's own run in turn, a Dispatcher with the memory
// store and no observer consumes 20,000 events published to a NATS stream
// of its own. It reports nats-mem-events/s and of-nats-mem (events/s ÷
// nats-mem-events/s), so that the ratio holds even when the machine's load
// changes between sub-benchmarks. Without a reachable NATS the pairing is
// left out.
//
// The bus and the SQL pool are sized as the README's "The durable path"
// advises for a shared store: every bus runs 512 handler calls at once
// (benchHandlers in harness_test.go, through each bus's WithConcurrency;
// the default is 64), and sqlPool in stores_test.go keeps 32 open and 32
// idle connections. Handlers on the durable path mostly wait for store
// round trips, and more of them at once fill larger group-commit batches.
//
// # Running
//
// Every iteration is a whole 20,000-event run, so run one iteration per
// count:
//
//	go test -run '^$' -bench Durable -benchtime 1x -count 3 ./internal/bench
//
// On a busy machine, rounds of -count 1 give ratios between sub-benchmarks
// measured minutes rather than tens of minutes apart:
//
//	for i in 1 2 3; do go test -run '^$' -bench Durable -benchtime 1x -count 1 ./internal/bench; done | tee durable.txt
//	benchstat durable.txt
//
// A round's time is mostly the SQL stores' sub-benchmarks: each is as long
// as 20,000 events take at the store's rate, plus publishing 40,000 events
// (its own and its NATS baseline's). Narrow with the sub-benchmark names,
// e.g. -bench 'Durable/bus=nats/' or -bench 'Durable/.*/store=memory/'.
// The services come from the SYNCLAYER_*_DSN, _ADDR and _URL variables as
// in every test; a sub-benchmark whose service is unreachable is skipped,
// or fails when SYNCLAYER_REQUIRE_SERVICES=1.
//
// The comparison of the in-process fan-out with Watermill lives in the
// nested module in the watermill directory, so that Watermill never enters
// this module's go.mod; see its package documentation.
package bench
