// Package bus holds what the bus adapters share beyond the
// synclayer.Publisher and synclayer.Subscriber of the root package, for
// those who write a bus or call one directly: publishing several events in
// one go ([BatchPublisher]) and the per-event errors of such a batch
// ([BatchError], which an implementation returns through [BatchResult]).
// The outbox relay uses them when its publisher has them.
//
// The adapters are its subpackages: bus/memory, bus/nats, bus/redisstream,
// bus/amqp and bus/kafka. synclayertest.TestBus checks a new one.
package bus
