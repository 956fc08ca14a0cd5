// Package synclayertest is the test kit of synclayer, for teams that use
// the library and for authors of connectors, stores and bus adapters.
//
// # Fake connectors
//
// [Fake] is a recording [synclayer.Connector] that stands in for a partner
// system: it keeps one record per key (an upsert, as real partners do),
// records every call, and fails on demand with a [Fault]: fail N times,
// fail permanently, fail with a Retry-After hint, block until released, or
// apply the write and then fail, imitating a response lost after the
// partner applied the change. [Attempts] is an observer that keeps every
// attempt the dispatcher made, and the wait after each, for a test of
// retries.
//
// # Conformance suites
//
// Each pluggable interface has a suite that an implementation runs with one
// call, one subtest per rule, each rule explained in its doc:
//
//   - [TestStore] for a [synclayer.Store];
//   - [TestConnector] for a [synclayer.Connector];
//   - [TestBus] for a bus adapter (a Publisher and Subscriber);
//   - [TestDeliveryLog] for a [synclayer.DeliveryLog];
//   - [TestLedger] for a [synclayer.Ledger], and [TestStoreLedger] for a
//     Store that writes the ledger in Complete.
//
// # Chaos
//
// [ChaosServer] wraps a partner's handler and [ChaosTransport] a client's
// transport to inject, at seeded rates, 5xx and 429 answers (Retry-After in
// both forms), resets before the partner sees a request and after it
// applied it (a lost response), stalls, slow and truncated bodies, and error
// bodies inside a 200.
//
// The suites import only the standard library and synclayer, so they fit
// any test setup.
package synclayertest
