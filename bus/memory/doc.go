// Package memory is an in-process event bus for synclayer: a
// [synclayer.Publisher] and [synclayer.Subscriber] for one process, for
// tests, and for the library's in-memory defaults.
//
// # Configuration
//
// Each option's doc gives its default. A zero value given to an option means
// that default; a value the option cannot take makes [New] fail with an
// error wrapping [synclayer.ErrInvalidOption] that names the option.
//
// # Delivery semantics
//
// Delivery is at least once. Every Subscribe call on one [Bus] joins one
// consumer group: an event goes to one subscriber that takes its type, and
// is handled by one handler call at a time. A handler's nil acknowledges the
// event; an error redelivers it after a delay that doubles with each
// delivery; after WithMaxDeliveries deliveries, or at once for a
// [synclayer.Permanent] error, the event becomes a [DeadLetter], which can
// be read with [Bus.DeadLetters] and sent again with [Bus.Replay]. An
// error marked with [synclayer.Redeliver] (the event came too early)
// redelivers the event after the delay it asks for, on the bus's own timer,
// and that delivery does not count toward the limit: deferrals never
// dead-letter an event.
//
// The bus keeps at most [WithMaxDeadLetters] dead letters (default
// 10,000): once full, each new one drops the oldest, and
// [Bus.DroppedDeadLetters] counts what was dropped.
//
// Events published before anyone takes their type wait in the backlog for
// the first subscriber instead of vanishing. The backlog is bounded
// ([WithBacklog]): once full, Publish waits for room while a subscriber
// drains it, and fails with [ErrBacklogFull] when none would.
//
// Order is first in, first out per bus, but handler calls run concurrently
// ([WithConcurrency]) and redeliveries go to the back of the queue, so
// handlers must not rely on order. The synclayer Dispatcher does not: it
// serialises per record key and skips stale versions.
//
// # Shutdown
//
// Cancelling a Subscribe's context stops it taking events; it returns once
// its handler calls have returned. A handler whose context ended before it
// returned and that then fails (with anything but a [synclayer.Permanent]
// error, which still dead-letters at once) puts its event back in the
// queue at once, and that delivery does not count toward the limit. [Bus.Close] waits for the backlog of
// subscribed types and pending redeliveries to drain (or for its context to
// end), then stops the subscribers, which return nil, refuses new events,
// and reports what was left undelivered. Every bus adapter of this module
// has the same Close(ctx) error.
//
// Nothing survives the process. For several processes use a broker adapter
// (bus/nats, bus/redisstream, bus/amqp, bus/kafka).
package memory
