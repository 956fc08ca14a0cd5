// Package nats is a synclayer bus on NATS JetStream: a [synclayer.Publisher]
// and [synclayer.Subscriber] that let several instances of a service share
// the events through durable pull consumers.
//
// # Configuration
//
// [NewBus] takes the caller's connection (reconnection, credentials and
// TLS are configured there) and the stream's name, and creates the stream
// if it does not exist, capturing "<prefix>.>" (the prefix defaults to the
// stream name; see [WithSubjectPrefix]). An existing stream is used as it
// is and must capture those subjects.
//
// An event of type T is published on the subject "<prefix>.event.T", so
// every event type has its own subject. Event types must be valid subject
// tokens (no spaces, '*', '>' or empty '.'-separated parts).
//
// Every [Bus.Subscribe] with the same group ([WithGroup], default
// "synclayer") shares one durable pull consumer per event type, named
// "<group>-<type>": several processes subscribing with the same group share
// the work, each event going to one of them.
//
// Each option's doc gives its default. A zero value given to an option means
// that default; a value the option cannot take makes [NewBus] fail with an
// error wrapping [synclayer.ErrInvalidOption] that names the option.
//
// # Delivery semantics
//
// Delivery is at least once, with explicit acknowledgements:
//
//   - a handler's nil acknowledges the event;
//   - a handler's error asks for a redelivery after a delay that starts at
//     [WithRedeliveryDelay] and doubles with every delivery (a negative
//     acknowledgement with a delay);
//   - a [synclayer.IsPermanent] error, or an error on the last of
//     [WithMaxDeliveries] deliveries, publishes the message to the
//     dead-letter subject "<prefix>.deadletter" (in the same stream) with
//     the reason and the delivery count in headers, then terminates it;
//   - an error marked with [synclayer.Redeliver] (the event came too
//     early) asks for a redelivery after the delay it names, and that
//     delivery is not counted toward the limit;
//   - a message that is not a valid CloudEvent is dead-lettered at once.
//
// JetStream counts every delivery, deferrals included. The bus takes the
// deferrals off that count: at each deferral it stores the message's
// deferral count in the stream itself, as a small message on
// "<prefix>.deferral.<group>.<sequence>" ([Bus.DeferralSubject]), which any
// process of the group reads back when the message is redelivered (a
// direct get, only for redeliveries), and which is purged once the message
// is acknowledged or dead-lettered. So deferrals are not counted across
// processes and restarts either. The honest limits: a stream created
// beforehand that does not capture that subject, or a failure to store
// the count, leaves the count in the deferring process only (bounded to
// 100,000 messages), and a redelivery elsewhere then counts those
// deferrals. Messages a stopping subscriber had prefetched are given back
// unhandled, at once, and counted as deferrals too; those still on their
// way to it when it stops come back after the ack wait, and count as
// delivered, as do the messages of a process that dies.
//
// A handler that runs long is kept alive with in-progress acknowledgements,
// sent every third of the ack wait; if its process dies, the broker
// redelivers the event after the ack wait ([WithAckWait], default 10s), to
// another subscriber of the group or to the restarted one. Messages the
// client has prefetched but not yet handed to a handler (up to twice
// [WithConcurrency], at least 64) get no in-progress acknowledgements,
// except the one waiting for a slot: when every handler slot stays busy
// for longer than the ack wait, some of them are delivered a second time
// (counted). Raise the ack wait when handlers routinely run that long. Publish sets the Nats-Msg-Id header to the event ID, so
// JetStream drops a second publish of the same event within its duplicate
// window (two minutes by default). [Bus.PublishBatch] (the
// [bus.BatchPublisher] the outbox relay uses) sends a batch in order
// without waiting between events, with the same header, then waits for
// every acknowledgement, and reports each event's failure apart.
//
// The wire format is CloudEvents 1.0 in structured JSON mode; binary mode
// (ce- headers) is accepted on receive.
//
// # Shutdown
//
// Cancelling a Subscribe's context stops it: the messages its client had
// prefetched are given back at once, and the handlers in flight see their
// context end. [Bus.Close] stops every Subscribe of the bus more gently:
// they take no new message, and the handlers in flight may finish (and
// publish) until Close's context ends. A handler whose context ended
// before it returned and that then fails (with anything but a
// [synclayer.Permanent] error, which still dead-letters at once) gets its
// message handed back at once, like a prefetched one: the delivery is
// recorded as a deferral and does not count, so even on its last allowed
// delivery the event is not dead-lettered. The bus never closes the NATS
// connection it was given: the caller does, after Close.
//
// # Errors
//
// Publish (and PublishBatch, for each event) fails with a
// [synclayer.Permanent] error for an event that cannot
// be sent at all (no ID or type, a type that is not a subject token, data
// that is not JSON) and with JetStream's error otherwise. Subscribe returns
// an error if it cannot create its consumers, or as soon as the broker
// deletes one of them (the others stop with it); [ErrInvalidType] and
// [ErrDeadLetter] are the package's sentinels.
package nats
