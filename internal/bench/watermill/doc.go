// Package watermill compares the in-process fan-out of synclayer with a
// Watermill Router on its gochannel Pub/Sub. It lives in a module of its
// own (this directory's go.mod, with a replace directive pointing at the
// repository's root) so that Watermill never enters synclayer's go.mod:
// go build, vet, test and mod tidy at the root skip this directory.
//
// # BenchmarkFanOut
//
// Every iteration runs the same work three times, in an order that rotates
// from one iteration to the next: 20,000 events published in process, one
// by one from one goroutine, each handled by three no-op handlers and
// acknowledged.
//
//   - watermill: a Router (default config) with three handlers
//     (AddConsumerHandler) on one topic of a GoChannel (default config,
//     so every handler gets every message); a handler acknowledges its
//     message and returns nil.
//   - default: bus/memory and Dispatcher.Run with three no-op connectors
//     routed for the event type, every option at its default (memory
//     store, memory delivery log, the LogObserver of slog.Default()).
//   - tuned: the same with WithObserver(synclayer.NoObserver) and WithDeliveryLog(synclayer.NoDeliveryLog).
//
// An event counts once all three of its handlers have acknowledged it
// (Watermill: three acks; synclayer: the bus handler returned nil, after
// all three routes). Both libraries log through the same slog handler, a
// text handler at Info writing to io.Discard, set as slog's default for
// the benchmark: Watermill through its slog adapter, synclayer's default
// observer through slog.Default().
//
// It reports watermill-events/s, default-events/s and tuned-events/s, and
// the ratios default/watermill and tuned/watermill from the same
// iterations. Run it from this directory:
//
//	cd internal/bench/watermill
//	go test -run '^$' -bench FanOut -count 5 | tee fanout.txt
package watermill
