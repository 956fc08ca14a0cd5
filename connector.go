package synclayer

import "context"

// Record is what a [Mapper] makes of an [Event] for one connector: the
// identity of the record in the partner system, its version and the payload
// the connector understands.
type Record struct {
	// Key is the record's identity in the partner system. It is required,
	// at most 1,024 bytes long, valid UTF-8, and free of control and
	// invisible formatting characters. Connectors escape it for their
	// protocol (a URL path segment, an ArcGIS where clause, ...).
	Key string

	// Version orders the updates of one Key. 0 means unversioned: the record
	// is always pushed. Otherwise a record whose Version is not greater than
	// the last version applied for its Key is skipped as stale.
	Version int64

	// Delete asks the connector to remove the record instead of upserting it.
	Delete bool

	// Payload is the connector-specific content: a struct or map for the
	// REST connector, a *calendar.Event for Google Calendar, and so on.
	Payload any

	// Event is the source event. The dispatcher sets it before calling the
	// connector; a Mapper need not.
	Event Event
}

// Connector pushes records into one partner system.
//
// Sync creates or updates (or, when rec.Delete is set, removes) the record
// rec.Key in the partner system. It must be idempotent: calling it twice
// with the same record leaves one record, because the dispatcher retries
// after errors and a response can be lost after the partner applied the
// change.
//
// Sync classifies its errors; it does not retry. Wrap an error with
// [Permanent] when trying again cannot help (a 400, a validation error), and
// with [RetryAfter] when the partner said when to come back. Any other error
// is retried by the connector's [RetryPolicy]. Sync must return promptly when
// ctx is done.
//
// A Connector must be safe for concurrent use: the dispatcher calls Sync
// from many goroutines, though never for the same key at the same time.
type Connector interface {
	Sync(ctx context.Context, rec Record) error
}

// PartnerIDSyncer is an optional interface of a [Connector] that learns the
// partner's own id for the record it writes (a feature's objectId, an
// event id, a resource's href). When a connector has it, the dispatcher
// calls SyncID instead of Sync, and keeps a non-empty id in the route's
// [Delivery] (PartnerID), so an operator can find the record at the partner.
// SyncID follows every rule of Sync. The arcgis and googlecalendar
// connectors implement it.
type PartnerIDSyncer interface {
	SyncID(ctx context.Context, rec Record) (partnerID string, err error)
}

// ConnectorFunc adapts an ordinary function to the [Connector] interface.
type ConnectorFunc func(ctx context.Context, rec Record) error

// Sync calls f(ctx, rec).
func (f ConnectorFunc) Sync(ctx context.Context, rec Record) error { return f(ctx, rec) }
