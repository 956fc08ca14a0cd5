// Package partner names what can go wrong between a synclayer connector and
// the partner system it writes to, in one place for every connector.
//
// A connector's error is classified twice: by category, a sentinel tested
// with errors.Is ([ErrNetwork], [ErrRateLimited], [ErrNotFound], ...), and,
// for a failed HTTP exchange, by detail, an [*Error] found with errors.As.
// The categories live here rather than in each connector package because
// they are the same for all of them: code that handles a rate limit or a
// refused credential handles it the same way whether the partner is a REST
// API, a SOAP service, a webhook receiver, a CalDAV server, an ArcGIS layer
// or Google Calendar, and a test of such code needs one name per category,
// not one per connector. A connector package declares only the categories
// that exist for its partner alone (arcgis.ErrToken, soap.ErrFault, ...), and
// documents which of these it returns and when.
//
// Whether an error is retried is the dispatcher's business, told by
// synclayer.Permanent and synclayer.RetryAfter around these errors; the
// category is what a caller branches on.
//
// # Concurrency
//
// The sentinels are fixed values. An [Error] is not changed after a
// connector returns it, so it may be read from any goroutine.
package partner
