// Package monitor serves the live state of a [synclayer.Dispatcher] to
// people and tools: a JSON API, a Server-Sent Events stream, and an HTML
// dashboard that shows every connector and every recent delivery as it
// happens, and lets an operator replay dead letters and pause or resume a
// connector.
//
// [New] returns an [http.Handler]. The service mounts it behind its own
// authentication, under a path that ends in a slash:
//
//	mon := monitor.New(d, monitor.WithWrites(true))
//	defer mon.Close()
//	mux.Handle("/ops/sync/", requireAdmin(http.StripPrefix("/ops/sync", mon)))
//
// The page refers to its assets and the API by relative URLs, so it works
// under any prefix. Its assets are embedded; it loads nothing from
// elsewhere.
//
// # Routes
//
// Paths are relative to the mount point.
//
//	GET  /                          the dashboard
//	GET  api/status                 counts, backlog and rates, overall and per connector ([Status])
//	GET  api/deliveries?…           the delivery log, newest first, filtered (see [ParseFilter])
//	GET  api/dead-letters?…         dead letters and failed deliveries (see [ParseReplayFilter])
//	GET  api/events/{id}            one event's outcome on every connector ([EventOutcome])
//	GET  api/stream                 Server-Sent Events: "status" and "delivery"
//	POST api/replay?…               replay dead letters ([synclayer.Dispatcher.Replay]); needs a filter or all=1
//	POST api/connectors/{name}/pause
//	POST api/connectors/{name}/resume
//
// Deliveries are the JSON of [synclayer.Delivery] without the source event,
// so event data never leaves through the monitor.
//
// # Configuration
//
// Write actions are off unless [WithWrites] enables them. [WithTitle] names
// the dashboard; [WithRateWindow] sets the span of the throughput and error
// rates (default one minute); [WithStatusInterval] sets how often the
// stream sends the status (default 2s); [WithTrustedOrigin] lets another
// origin's page make write actions.
//
// Rates are computed from samples of [synclayer.Dispatcher.Status] taken
// when the status is read (by the API or a stream), so the handler runs no
// background goroutine; the first read has no rates yet (WindowSeconds 0).
//
// # Live stream
//
// api/stream sends a "status" event at once and then every status
// interval, and a "delivery" event for every delivery the dispatcher
// records, through [synclayer.Dispatcher.Watch]. The pushes never wait for
// a stream: each client has a bounded buffer, and what overflows it is
// dropped and counted in the next status ("dropped"), upon which the page
// reloads the list. A stream ends when its client goes, when its request's
// context ends, or at [Handler.Close]. [http.Server.Shutdown] waits for
// active requests, so register the monitor's Close with the server to end
// the streams at once:
//
//	srv.RegisterOnShutdown(func() { mon.Close() })
//
// # Security
//
// The handler does no authentication: the service's middleware does. A
// write action must be a POST, pass [http.CrossOriginProtection] (the
// browser's Sec-Fetch-Site or Origin must show the same origin or a trusted
// one), and carry in the [TokenHeader] header a token the handler issued:
// the page holds one, and [Handler.Token] makes one for other clients. A
// token is a random nonce with its HMAC under a secret made by [New], so it
// is valid for the handler's lifetime.
//
// The page is served with a Content-Security-Policy that allows only its
// own script and style, and its script puts every text from the server in
// the page with textContent: an error text holding markup, such as a
// partner's "<script>", is shown as text and never runs.
//
// # Errors
//
// Every error answer is JSON, {"error": "monitor: ..."} ([Error]): 400 for a
// malformed or unknown query parameter (the errors of [ParseFilter] wrap
// [ErrBadQuery]); 403 when write actions are disabled, the origin is
// foreign or the token is missing or invalid; 404 for an unknown route,
// connector or event id; 405 for a wrong method; 503 when the delivery log
// cannot be read or the handler is closed. A write action that stopped
// part way answers 200 with the results so far and the error.
//
// A [Handler] is safe for concurrent use.
package monitor
