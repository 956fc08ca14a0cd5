// Package keyid derives the stable identifiers that connectors send to
// partners from a record's key: the name of the object that holds a key
// (CalDAV, Google Calendar) and the id of one change of a key (the REST
// Idempotency-Key, the webhook-id). Each is a hash, so the same input
// always gives the same id, in every process, and different inputs never
// share one.
package keyid
