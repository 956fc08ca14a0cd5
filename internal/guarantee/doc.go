// Package guarantee holds the tests that prove synclayer's promise: exactly
// one record per key in every partner system, holding the newest version,
// and one SyncCompleted or SyncFailed per event, whatever fails on the way.
// It has no API; everything is in its _test.go files.
//
// # The tests
//
//   - TestSoak: thousands of events, several versions per key out of
//     order and some delivered twice, through bus/memory and
//     Dispatcher.Run into the rest, arcgis and googlecalendar connectors,
//     with faults injected by a synclayertest.ChaosServer in front of the
//     records and ArcGIS partners and a synclayertest.ChaosTransport in the
//     calendar's client (5xx, 429, resets before and after the write,
//     stalls, truncated and slow bodies, ArcGIS error bodies). Afterwards every partner holds one record per key at
//     the newest version, every event was announced exactly once, and the
//     dispatcher's counters and delivery log agree with the partners. It
//     logs a one-line summary (go test -v prints it).
//   - TestBadInput: malformed, mistyped, empty, oversized and hostile
//     events (bad keys: '/', '..', quotes, CR/LF, NUL, invisible
//     characters, 2 KB of Unicode; no ID, no type, no route) through the
//     whole path, each followed by a good event. Each bad event fails
//     alone, permanently, with an error that names what is wrong, and is
//     announced as SyncFailed or dead-lettered; odd but legal keys are
//     stored exactly; every good event syncs.
//   - TestMemoryBound: 200,000 unique events through Run. With the default
//     memory store, which keeps every done-marker for its retention window,
//     the heap in use after GC grows by at most 600 bytes per event (about
//     370 measured) plus 16 MB; with a store bounded by MemoryStore.MaxEntries,
//     the second 100,000 events add at most 8 MB (about 0 measured). Then
//     goleak checks that no goroutine remains.
//   - TestCrash: a child process (the test binary re-executed, running
//     TestCrashChild) consumes from NATS JetStream with the PostgreSQL
//     store, then from Redis Streams with the SQLite store, and pushes to a
//     records partner (connectors/rest) and an ArcGIS layer
//     (connectors/arcgis on arcgistest, no unique index) held by the
//     parent. The parent SIGKILLs it at random points five times and
//     restarts it while it keeps publishing; after the last run drains,
//     every key holds one record at its newest version in both partners and
//     every event was announced SyncCompleted. It needs the real services
//     (internal/testenv) and logs a one-line summary.
//
// No goroutine outlives the package's tests (goleak, in TestMain).
//
// # Sizes and replay
//
// The soak runs 5,000 events over 500 keys (about 6s, 15s under the race
// detector, on two cores), 500 under -short; the memory check 200,000
// events (about 2s), 100,000 under the race detector (about 7s), 20,000
// under -short; the crash test about 10s per pair of bus and store. The
// whole package takes about 50s under the race detector.
// Randomised tests log their seed; set SYNCLAYER_SEED to replay one.
package guarantee
