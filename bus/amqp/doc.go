// Package amqp is a synclayer bus on RabbitMQ (AMQP 0-9-1, with
// github.com/rabbitmq/amqp091-go): a [synclayer.Publisher] and
// [synclayer.Subscriber] that let several instances of a service share the
// events through one durable queue per consumer group.
//
// # Configuration
//
// [NewBus] takes the broker's URL and the name of a durable topic exchange,
// which it declares. Publish sends an event with its type as the routing
// key, as a persistent message, and waits for the broker's publisher
// confirm. Every [Bus.Subscribe] of a group ([WithGroup], default
// "synclayer") consumes from the durable queue "<exchange>.<group>", bound
// to the exchange for each of its event types, with manual
// acknowledgements and a prefetch of [WithConcurrency]. An event published
// before any queue is bound to its type is dropped by the broker, as AMQP
// routing does: declare the group first ([Bus.Declare], or a Subscribe).
//
// When the broker drops the connection, the bus dials again: Publish
// retries once on a new connection, and Subscribe opens a new channel and
// consumes again, with a growing wait between attempts.
//
// Each option's doc gives its default. A zero value given to an option means
// that default; a value the option cannot take makes [NewBus] fail with an
// error wrapping [synclayer.ErrInvalidOption] that names the option.
//
// # Delivery semantics
//
// Delivery is at least once:
//
//   - a handler's nil acknowledges the message;
//   - a handler's error republishes a copy (with the delivery count in the
//     header "x-synclayer-deliveries") to the retry queue of its delay,
//     "<queue>.retry.<ms>ms", then acknowledges the original; the retry
//     queue's message TTL and dead-letter exchange route the copy back to
//     the group's queue once the delay ([WithRedeliveryDelay], doubled for
//     every delivery) has passed. One queue per delay avoids the
//     head-of-line blocking of per-message TTLs;
//   - a [synclayer.IsPermanent] error, or an error on the last of
//     [WithMaxDeliveries] deliveries, publishes a copy to the dead-letter
//     queue "<queue>.deadletter" with the reason in "x-synclayer-reason",
//     then acknowledges the original;
//   - an error marked with [synclayer.Redeliver] (the event came too
//     early) republishes a copy to the deferral queue
//     "<queue>.defer.<ms>ms" whose delay is the one asked for rounded up
//     to 64ms times a power of two (at most about 17 minutes), then
//     acknowledges the original. The copy keeps the delivery count of the
//     original, so deferrals never count toward the limit; they are
//     counted apart in "x-synclayer-deferrals". This holds across
//     processes and restarts, as the counts travel in the message;
//   - a message that is not a valid CloudEvent is dead-lettered at once.
//
// A message whose subscriber died before acknowledging it (a process
// killed, a connection lost) is requeued by the broker as soon as it sees
// the connection close, at once for a closed socket or after the missed
// heartbeats (amqp091's default heartbeat is 10s) for a host gone silent,
// and delivered again; such deliveries are not counted.
//
// The wire format is CloudEvents 1.0 in structured JSON mode (content type
// application/cloudevents+json). Binary mode is accepted on receive, with
// the attributes in "cloudEvents:"-, "cloudEvents_"- or "ce-"-prefixed
// headers.
//
// # Shutdown
//
// Cancelling a Subscribe's context stops it: it cancels its consumer,
// requeues what was on its way, and the handlers in flight see their
// context end. [Bus.Close] stops every Subscribe of the bus more gently:
// they take no new message, and the handlers in flight may finish (and
// publish) until Close's context ends; then it closes the connection. A
// handler whose context ended before it returned and that then fails (with
// anything but a [synclayer.Permanent] error, which still dead-letters at
// once) gets its message requeued with its headers unchanged: the delivery
// does not count, so even on its last allowed delivery the event is not
// dead-lettered. The
// bus owns that connection (it dialled it from the URL), so Close is what
// releases it.
//
// # Errors
//
// Publish fails with a [synclayer.Permanent] error for an event that cannot
// be encoded, with [ErrNotConfirmed] when the broker refuses it, and with
// the connection's error otherwise. Subscribe returns an error only when
// reconnecting keeps failing for a minute, or [ErrClosed] after [Bus.Close].
package amqp
