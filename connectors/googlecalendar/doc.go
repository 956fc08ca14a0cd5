// Package googlecalendar is a synclayer connector that keeps one Google
// Calendar event per record key, through the official client
// google.golang.org/api/calendar/v3.
//
// # Configuration
//
// [New] takes a [Config]: the *calendar.Service the caller built (its
// credentials, HTTP client and endpoint are the caller's), the calendar id,
// and a namespace mixed into event ids. The configuration is checked at
// construction.
//
// # Payload
//
// A record's Payload is a *calendar.Event (or a calendar.Event) made by the
// mapper, with Start and End set (End is exclusive: a one-day all-day
// event ends on the next date). A timed Start or End is an RFC 3339
// DateTime with a UTC offset, or, as the API allows, a wall-clock
// DateTime without one ("2026-03-10T09:00:00") when its TimeZone names
// the IANA zone it is in; without either it is refused. A wall-clock
// time that a daylight saving change makes ambiguous is read as RFC 5545
// and Google read it: a time shown twice is its first occurrence, a time
// skipped by a gap is read with the offset before the gap (02:30 in New
// York on 2026-03-08 is 03:30-04:00). End must not come before Start,
// compared as instants. The connector works on a copy: it
// sets the event id, the status, and two private extended properties:
// [PropertyKey] holds the record key and [PropertyVersion] the record
// version, so events can be found by key with
// privateExtendedProperty=synclayerKey=<key>.
//
// # Event ids
//
// The event id is [EventID] of the namespace and the key: lowercase
// base32hex of a SHA-256 digest, 52 characters of 0-9 and a-v, which is
// what Google accepts for a client-chosen id. Different keys (or
// namespaces) never share an id in practice. Keep the namespace stable:
// changing it makes new events instead of updating the old ones.
//
// # Delivery semantics
//
// An upsert inserts the event with its derived id. If Google answers 409
// (the id exists, possibly as a cancelled or deleted event), the connector
// reads the event and updates it with If-Match on its ETag, which also
// restores a cancelled event (status "confirmed"). If someone changed the
// event in between (412), it reads again and retries, up to
// Config.MaxConflicts updates, then reports a retryable conflict. An
// update that meets 404 or 410, on any of those rounds, the last
// included, is always followed by one more read: if it finds nothing,
// Google purged the event and the event is inserted again (Google takes
// an insert of a purged id; should that insert meet 409, the rounds go
// on, and past the last one end in the retryable conflict); if it still
// finds the event, the update fails with its 404 or 410 (permanent) and
// nothing is inserted. An upsert thus makes at most
// 2×Config.MaxConflicts + 3 requests.
// A delete reads the event, writes the delete's version into its
// [PropertyVersion] (an update with If-Match that notifies no one), then
// deletes it with If-Match on the new ETag (Google
// then marks it cancelled, properties kept), so an upsert older than the
// delete finds a newer event and does not restore it; an event that is
// missing, gone (410) or already cancelled is done. Retrying Sync after a lost response therefore leaves
// one event.
//
// A record whose Version is lower than the version the event holds is not
// written (Sync returns nil), so an old update never overwrites a newer
// one, even across processes with different idempotency stores.
// Unversioned records (Version 0) are always written. An event whose
// private key property names another key is never touched: Sync reports
// [partner.ErrKeyMismatch].
//
// [Connector] implements synclayer.PartnerIDSyncer: [Connector.SyncID]
// does what Sync does and returns the key's event id, for an upsert and a
// delete alike, which the dispatcher keeps in the route's delivery as its
// PartnerID.
//
// A Connector is safe for concurrent use.
//
// # Drift
//
// The Connector is a [drift.Verifier] and [drift.Repairer].
// [Connector.Verify] reads the key's event (events.get) and compares it
// with the event Sync would write, by meaning rather than spelling: start
// and end as instants (any offset or time zone; the time zone itself only
// for a recurring event) or as dates, text with any line breaks,
// attendees as a set of addresses in any case with their optional flag
// (not their answers), recurrence lines as a set, and transparency,
// visibility, guest permissions and reminders at Google's defaults as if
// unset. What Google fills in itself (etag, created, updated, creator,
// organizer, iCalUID, sequence, htmlLink, eventType, ...) is not
// compared, nor are Config.OwnedFields. The content fields (summary,
// description, location, start, end, attendees, recurrence, colorId,
// status, reminders, ...) are compared whichever side sets them, as Sync's
// update replaces the whole event; any other field only when the record
// sets it. Extended properties are compared one by one. A cancelled event
// is missing.
//
// [Connector.Repair] makes the call Sync would make, conditional on the
// ETag Verify read: an event edited meanwhile is left as it is and
// Repair's error wraps [drift.ErrConflict].
//
// # Errors
//
// A failed API call is an [*Error], found with errors.As, carrying the
// operation, HTTP code, Google's reasons and message, and wrapping a
// category:
//
//   - 429, 408, 500, 502, 503, 504, 507, 520–524 (a proxy's origin
//     errors), network errors, and 403 with reason
//     rateLimitExceeded, userRateLimitExceeded or quotaExceeded are
//     retryable ([partner.ErrRateLimited], [partner.ErrUnavailable], [partner.ErrNetwork]); a
//     Retry-After header becomes a [synclayer.RetryAfter] hint;
//   - a 412 (conditionNotMet) on every one of Config.MaxConflicts tries
//     (or, after a purge, a 409 on the insert of the last round) wraps
//     [partner.ErrConflict] and is retryable;
//   - every other 4xx is permanent: [partner.ErrUnauthorized] (401, other 403),
//     [partner.ErrNotFound] (404, 410), [partner.ErrConflict], [partner.ErrRejected] (400, ...);
//     but a 404 or 410 on delete means the event is already gone: done,
//     and on an upsert's update, on any round, the last included, that it
//     was purged if the read that follows finds nothing: insert (above);
//   - an invalid payload wraps [partner.ErrPayload], and an event of another
//     key [partner.ErrKeyMismatch]; both are permanent.
//
// Messages never include credentials: an API key in a URL is redacted.
package googlecalendar
