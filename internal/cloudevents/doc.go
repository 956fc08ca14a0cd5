// Package cloudevents is the wire format shared by the bus adapters: a
// [synclayer.Event] as a CloudEvents 1.0 message.
//
// # Publishing
//
// [Marshal] writes structured mode: one JSON object holding the context
// attributes (specversion, id, type, source, subject, time), the
// datacontenttype "application/json" and the event's Data as "data". Its
// content type is [ContentType].
//
// Event.Meta travels as CloudEvents extension attributes when a key is a
// valid attribute name (lowercase a-z and 0-9, at most 20 characters, not a
// context attribute), such as "traceparent" or "correlationid". The other
// keys travel together, JSON-encoded, in the single extension attribute
// [MetaAttribute], so Meta comes back unchanged.
//
// # Receiving
//
// [Decode] takes the message body and its headers and accepts both modes:
//
//   - binary mode, when a header "ce-specversion" (or "ce_specversion", as
//     the Kafka binding writes it; case-insensitive) is present: the
//     attributes are the ce- headers, the body is the data;
//   - structured mode otherwise: the body is the JSON object.
//
// Extension attributes of other producers become Meta entries (numbers and
// booleans as their JSON text).
//
// # Errors
//
// A message that is not a usable event (bad JSON, no id, no type, an
// unsupported specversion, a bad time, data that is not JSON) gives an error
// wrapping [ErrInvalid] that says why and names the event id when known.
// Such a message can never succeed: adapters dead-letter it at once.
package cloudevents
