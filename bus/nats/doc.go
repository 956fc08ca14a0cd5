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
//   - a message that is not a valid CloudEvent is dead-lettered at once.
//
// A handler that runs long is kept alive with in-progress acknowledgements;
// if its process dies, the broker redelivers the event after the ack wait
// ([WithAckWait]). Publish sets the Nats-Msg-Id header to the event ID, so
// JetStream drops a second publish of the same event within its duplicate
// window (two minutes by default).
//
// The wire format is CloudEvents 1.0 in structured JSON mode; binary mode
// (ce- headers) is accepted on receive.
//
// # Errors
//
// Publish fails with a [synclayer.Permanent] error for an event that cannot
// be sent at all (no ID or type, a type that is not a subject token, data
// that is not JSON) and with JetStream's error otherwise. Subscribe returns
// an error if it cannot create its consumers, or if the broker deletes
// them; [ErrInvalidType] and [ErrDeadLetter] are the package's sentinels.
package nats
