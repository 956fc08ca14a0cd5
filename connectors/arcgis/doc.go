// Package arcgis is a synclayer connector for one layer of an ArcGIS
// Feature Service (".../FeatureServer/{layer}"): it keeps exactly one
// feature per record key, found by a key attribute.
//
// # Configuration
//
// [New] takes a [Config]: the layer URL, the attribute that holds the
// record key (a unique index on it is advised: see below), optionally an attribute
// that holds the record version, a token and the caller's *http.Client.
// The configuration is checked at construction.
//
// The token travels in the X-Esri-Authorization header only, never in a
// URL or a form field that could be logged, and never appears in an error.
//
// # Payload
//
// A record's Payload is a [Feature] or a *[Feature]: attributes and an
// optional geometry ([Point], [Polyline] or [Polygon], each with its
// [SpatialReference]). The connector sets the key attribute (and the
// version attribute, when configured) itself. A delete needs no payload.
//
// # Delivery semantics
//
// Sync queries the layer with where "KEY = '<key>'" (the key quoted as
// ArcGIS SQL requires, embedded quotes doubled, so a key holding ' or --
// neither breaks the query nor matches another feature), then sends one
// applyEdits request: an update by object id when the feature exists, an
// add otherwise. Features found twice for one key (left by a writer that
// did not serialise) are merged: the lowest object id is updated, the
// others deleted. An add the service refuses (a unique index on the key
// field meeting a feature another writer added meanwhile) is followed by
// one more query, and an update if the key is now there. Without that
// index nothing can stop one case: an add the client gave up on (its
// attempt timed out) that the service still applies after the retry's
// query found nothing, which leaves two features for the key until its
// next push merges them. Only features whose key attribute equals the key exactly
// count, so a case- or accent-insensitive database collation cannot make
// one key update another's feature. Field names, though, compare
// case-insensitively, as ArcGIS compares them: Config.KeyField "sync_key"
// finds the layer's SYNC_KEY. Keys holding a backslash (an escape
// character in some databases) or control characters are refused with a
// permanent [partner.ErrPayload]. A delete removes every feature of the key; a missing
// feature is not an error. When another editor deletes a feature between
// the query and the applyEdits (the layer answers code 1019, "Object is
// missing"), Sync queries again and writes once more against what is left:
// a delete with nothing left is done, an update with nothing left turns
// into an add. Retrying Sync after a lost response therefore
// leaves one feature.
//
// With Config.VersionField set, a record whose Version is lower than the
// version the feature holds is not written (Sync returns nil), so an old
// update can never overwrite a newer one, even when two processes use
// different idempotency stores. Unversioned records (Version 0) are always
// written.
//
// [Connector] implements synclayer.PartnerIDSyncer: [Connector.SyncID]
// does what Sync does and returns the object id of the key's feature, as
// the applyEdits results give it (for a delete, the object id deleted),
// which the dispatcher keeps in the route's delivery as its PartnerID.
//
// A Connector is safe for concurrent use.
//
// # Drift
//
// [Connector] implements drift.Verifier and drift.Repairer.
// [Connector.Verify] runs Sync's query by key with all attributes and the
// geometry, and compares what the layer holds with the feature Sync would
// write: numbers within float rounding, dates as epoch milliseconds,
// strings exactly, vertices within Config.GeometryTolerance; the
// attributes of Config.OwnedFields and those the layer adds are not
// compared. [Connector.Repair] sends Sync's applyEdits, leaving the owned
// attributes as the layer holds them. ArcGIS has no ETags, so Repair reads
// the feature again right before writing and returns drift.ErrConflict,
// writing nothing, when it changed since Verify; an edit in the moment
// between that read and the write is not detected.
//
// # Errors
//
// ArcGIS reports errors inside HTTP 200 bodies ({"error":{"code":498,...}})
// and per feature in applyEdits results. Sync reads both, and HTTP
// statuses too, and classifies them:
//
//   - codes 498 (invalid or expired token) and 499 (token required) are
//     permanent and wrap [ErrToken] and [partner.ErrUnauthorized]: the
//     caller must renew the token;
//   - codes 408, 500, 502, 503 and 504 and unreadable responses wrap
//     [partner.ErrUnavailable], 429 [partner.ErrRateLimited], network
//     errors [partner.ErrNetwork]; all are retryable. As HTTP statuses,
//     425, 507 and 520–524 (a proxy in front of the service could not
//     reach it) are retryable too;
//   - every other code is permanent: 401 and 403 wrap
//     [partner.ErrUnauthorized], 404 [partner.ErrNotFound] (the layer or
//     service does not exist), the rest [partner.ErrRejected]; a feature
//     the service refused wraps [ErrEdit];
//   - an invalid payload (no geometry spatial reference, an open polygon
//     ring, a key attribute that disagrees with the key) wraps
//     [partner.ErrPayload] and is permanent.
//
// The service's own code and message are in an [*APIError], and the HTTP
// exchange in a [*partner.Error], both found with errors.As.
package arcgis
