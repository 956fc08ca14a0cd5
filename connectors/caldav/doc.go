// Package caldav is a synclayer connector that keeps one calendar object
// (a VEVENT) per record key in a CalDAV calendar collection (RFC 4791),
// such as Radicale, Xandikos, Nextcloud or Apple Calendar Server.
//
// # Configuration
//
// [New] takes a [Config]: the calendar collection's URL and the caller's
// *http.Client, which carries the credentials (basic auth, a bearer token)
// in its Transport. The configuration is checked at construction.
//
// # Payload
//
// A record's Payload is an [Event] or an *[Event]: summary, description,
// location, and start and end, either as times (written in UTC) or as
// all-day dates (DTSTART;VALUE=DATE with an exclusive DTEND). The
// connector builds the iCalendar object with github.com/emersion/go-ical:
// VERSION, PRODID, a UID derived from the key, DTSTAMP, text values
// escaped as RFC 5545 requires, lines folded at 75 octets. It adds two
// properties: X-SYNCLAYER-KEY (the record key) and X-SYNCLAYER-VERSION
// (the record version).
//
// # Delivery semantics
//
// Each key has one object at a deterministic path in the collection,
// [ObjectName] of the namespace and the key (lowercase base32hex of a
// SHA-256 digest, so a key with "/", "..", "%" or any Unicode is safe in a
// URL and a file name), whose UID is [UID] of the same. Sync reads the object, then writes it with a
// conditional PUT: If-None-Match: * when it does not exist yet, If-Match
// with its ETag otherwise. If another client changed or created the object
// in between, the server answers 412 and Sync reads it again and retries,
// up to Config.MaxConflicts times, then reports a retryable conflict. A
// delete sends DELETE with If-Match; an object already gone is done.
// Retrying Sync after a lost response therefore leaves one object.
//
// A record whose Version is lower than the X-SYNCLAYER-VERSION of the
// stored object is not written (Sync returns nil), so an old update never
// overwrites a newer one, even across processes with different
// idempotency stores. Unversioned records (Version 0) are always written.
//
// The stored object is read as a whole. A calendar client that edits one
// occurrence of a recurring event adds an override VEVENT (with a
// RECURRENCE-ID) to the object, in any order and copying the master's
// properties or not; every VEVENT counts: the object's version is the
// highest X-SYNCLAYER-VERSION any of them carries, and one naming another
// key makes a key mismatch. A newer record replaces the whole object with
// its single VEVENT, overrides included: the record is the source of
// truth.
//
// The conditional requests are plain net/http: go-webdav's
// PutCalendarObject sends no preconditions.
//
// The server must give strong ETags (Radicale and Xandikos do): If-Match
// compares strongly, so with a weak ETag every write would meet 412.
//
// A Connector is safe for concurrent use.
//
// # Drift
//
// The Connector is a [drift.Verifier] and [drift.Repairer].
// [Connector.Verify] GETs the key's object and compares its VEVENT (a
// recurring event's master) with the one Sync would write, by meaning
// rather than spelling, as CalDAV servers and clients rewrite what they
// store: property names in any case, folded lines and escaped TEXT read
// as their values, DTSTART and DTEND compared as instants (a TZID time
// equals the same instant in UTC; a floating time is read as UTC) or as
// dates (a TZID is read as the IANA zone it names, also as a Windows
// zone name, "W. Europe Standard Time", through Unicode CLDR's mapping,
// or behind a path, "/mozilla.org/20050126_1/Europe/Berlin"; any other
// TZID, such as Outlook's "Customized Time Zone" or a display name, by
// the object's VTIMEZONE of that TZID, its STANDARD and DAYLIGHT onsets,
// RRULE and RDATE included, RFC 5545 §3.6.5; a time in a zone none of
// these define is compared as written), DTEND also when
// given as a DURATION (its days and weeks nominal, RFC 5545 §3.3.6: P1D
// ends at the same time of day on the start zone's clocks, 23 or 25
// hours later across a daylight saving change; its hours, minutes and
// seconds exact) or left to its default, CLASS:PUBLIC, PRIORITY:0 and
// TRANSP:OPAQUE as if absent, repeated properties (ATTENDEE, CATEGORIES)
// as sets. What servers and clients
// fill in themselves is not compared: DTSTAMP, CREATED, LAST-MODIFIED,
// SEQUENCE, PRODID, the X- properties of other programs, alarms. Nor are
// Config.OwnedFields. Any other property added, removed or changed at
// the server is named in Verdict.Fields, and an object holding overrides
// of single occurrences differs in "RECURRENCE-ID", as Sync replaces them.
//
// [Connector.Repair] sends the write Sync would send, conditional on the
// ETag Verify read: an object edited meanwhile is left as it is and
// Repair's error wraps [drift.ErrConflict].
//
// # Errors
//
// Errors are classified by the shared HTTP rules (network errors, 408,
// 425, 429, 500, 502, 503, 504, 507 and 520–524 (a proxy's origin errors)
// retryable; any other status permanent),
// with the exchange in a [*partner.Error] found with errors.As. On top of them:
//
//   - CALDAV:no-uid-conflict (another object of the collection already
//     has this UID), whether in a 409 (Radicale) or inside a multi-status
//     answer (Xandikos), wraps [ErrUIDConflict] and [partner.ErrConflict] and is
//     permanent; any other multi-status answer to a PUT is a permanent
//     [partner.ErrConflict];
//   - a 412 on every one of Config.MaxConflicts tries wraps [partner.ErrConflict]
//     and is retryable;
//   - an object at the key's path of which any VEVENT names another key wraps
//     [partner.ErrKeyMismatch] and is permanent;
//   - an invalid payload wraps [partner.ErrPayload] and is permanent.
//
// Credentials (the Authorization header, a password in the URL) never
// appear in an error.
package caldav
