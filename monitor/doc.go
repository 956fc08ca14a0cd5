// Package monitor serves the live state of a [synclayer.Dispatcher] to
// people and tools: a JSON API, a Server-Sent Events stream, and an HTML
// dashboard that shows every connector and every recent delivery as it
// happens, and lets an operator replay dead letters and pause or resume a
// connector.
//
// [New] returns an [http.Handler]. The service mounts it under a path that
// ends in a slash, behind its own authentication middleware, or with an
// authorization check of its own ([WithAuthorize]), or both:
//
//	mon, err := monitor.New(d,
//		monitor.WithWrites(true),
//		monitor.WithAllowedHosts("ops.example.com"),
//		monitor.WithAuthorize(func(r *http.Request) error {
//			u := userFrom(r.Context()) // set by the service's middleware
//			switch {
//			case u == nil:
//				return monitor.ErrUnauthenticated // 401
//			case r.Method != http.MethodGet && r.Method != http.MethodHead && !u.Admin:
//				return errors.New("read only") // 403
//			}
//			return nil
//		}))
//	if err != nil {
//		return err // an invalid option
//	}
//	defer mon.Close()
//	mux.Handle("/ops/sync/", requireLogin(http.StripPrefix("/ops/sync", mon)))
//
// The page refers to its assets and the API by relative URLs, so it works
// under any prefix. Its assets are embedded; it loads nothing from
// elsewhere.
//
// # Routes
//
// Paths are relative to the mount point.
//
//	GET  /                          the dashboard (starts the session when writes are on)
//	GET  assets/app.js, style.css   its script and style
//	GET  api/status                 counts, dead letters, backlogs and rates, overall and per connector ([Status])
//	GET  api/deliveries?…           the delivery log, newest first, one page ([DeliveryPage]; see Lists)
//	GET  api/dead-letters?…         dead letters and failed deliveries, one page ([DeadLetterPage]; see Lists)
//	GET  api/events/{id}            one event's outcome on every connector ([EventOutcome])
//	GET  api/backlogs               the queues added with [WithBacklog] ([QueuePage])
//	GET  api/stream                 Server-Sent Events: "status", "delivery" and "overflow"
//	GET  api/token                  renews the session and returns a CSRF token ([Token])
//	GET  api/freshness              every connector's freshness ledger summary ([Freshness])
//	GET  api/freshness/{name}?key=K what the connector's partner holds of key K ([Holding])
//	GET  api/freshness/{name}?…     a page of its ledger entries in key order ([HoldingPage]; see Freshness)
//	GET  api/replay?…               what a bulk replay with the same query would push ([ReplayPreview])
//	POST api/replay?…               replay dead letters; see Bulk replay
//	POST api/connectors/{name}/pause
//	POST api/connectors/{name}/resume
//
// Deliveries are [Delivery] values: the delivery log's entries without the
// source event, so event data never leaves through the monitor, and with
// their duration in milliseconds ("durationMs"). A delivery's "error" is
// the one the dispatcher logged ([synclayer.Delivery].Error): the mapper's
// or the partner's answer, shown as is, and for a failure of the
// idempotency store a fixed text naming what failed, never the store's
// own error.
//
// # Lists
//
// api/deliveries takes the query parameters event (an event id),
// connector, type (an event type), key (a record key), state (names of
// [synclayer.Status], comma-separated or repeated), since (an RFC
// 3339 time, or a duration back from now such as "15m"), limit and cursor.
// api/dead-letters takes the same but key and state. Unknown parameters,
// repeated ones other than state, unknown states and malformed values
// answer 400.
//
// Both return one page: limit rows
// ([DefaultLimit] 100 when not set, at most [MaxLimit] 1000), newest first,
// and "next", an opaque cursor; pass it as cursor= with the same filter
// for the next page. The last page has no "next". A cursor is signed by
// the handler and bound to its list and to what its query selects (limit
// aside; states in any order, repeated or comma-separated, and since as
// the same instant or duration however written, select the same): any
// other text, a cursor of another query, or one given before the service
// restarted answers 400. The key that signs cursors is drawn at random by
// [New], so a cursor works only on the [Handler] that gave it: where
// several processes serve the monitor behind one address over a shared
// log, a walk whose pages reach another process answers 400 there (send
// a client's requests to one process, or walk one process's address).
// A page reads the log up to its own depth, and
// at most twice (again, up to 10,000 rows, only when the log changed
// since the cursor was given). A walk of all pages lists once every row
// that was in the log when it started and did not change meanwhile. A row
// updated during the walk moves to the front, so it is listed at most
// once: not again if the walk had listed it, and not at all if the walk
// had not reached it yet. Rows added during the walk are in front too,
// and not listed. A walk reads at most the newest 10,000 rows of the log.
//
// # Counts
//
// The counts of a connector (synced, duplicate, stale, failed, dead, ...)
// are those of [synclayer.Dispatcher.Status], since the dispatcher
// started. Failed (did not finish; a redelivery tries again) and dead
// (failed for good) are apart in the JSON and in two columns on the page.
//
// What waits now ([Waiting]) comes from the delivery log: "deadLetters"
// are the dead letters and failed deliveries that wait for a replay;
// "superseded" are those whose key a later delivery to the same connector
// synced, counted apart and not in "deadLetters"; "queued" are the pending
// deliveries. Superseded is judged by time, not version (a delivery
// carries no version): with unversioned records the later sync holds the
// newer content, and replaying a superseded letter pushes the older
// content again. With versioned records a superseded letter can hold the
// newer version (an event of an older version synced after it went
// dead); replaying it is safe, since the store refuses it as stale when
// the partner holds a newer version. A bulk replay leaves superseded
// letters alone; each can still be replayed by its event (the page's
// Replay action on its row).
// The handler reads the log for them once, at the first status (the
// newest 10,000 dead, failed and pending deliveries and the newest 10,000
// synced ones), and then follows the dispatcher's deliveries through
// [synclayer.Dispatcher.Watch], so a status costs no listing of the log.
// When the log held more dead, failed and pending ones, the status says so
// ([Status].WaitingCapped) and the page shows the counts as lower bounds
// ("≥ N"). More synced ones leave the counts exact and unmarked, but a
// letter superseded only by a sync older than those read counts in
// "deadLetters", not "superseded" (and a bulk replay takes it).
// It reads the log again only after it fell behind (a burst of more than
// 8192 deliveries between two status reads). A log shared by several
// processes shows the other processes' deliveries from that first reading
// only.
//
// # Freshness
//
// api/freshness reads the dispatcher's freshness ledger
// ([synclayer.Dispatcher.Ledger]): for every registered connector, in
// registration order, its [synclayer.LedgerSummary] (keys held, keys
// behind, keys unverified, the oldest unverified key and the time the
// oldest key behind fell behind) with the ages of the oldest entries in
// seconds. api/freshness/{name}?key=K answers the entry of key K, with
// its "behind" verdict, or 404 when the ledger has none; without key=, it
// answers a page of the connector's entries in key order: after= (a key;
// the page starts past it) and limit (default [DefaultLimit], at most
// [MaxLimit]), and "next", the after= of the next page, on all but the
// last. The dashboard shows the summaries and finds a key on every
// connector.
//
// A dispatcher built with synclayer.WithLedger(synclayer.NoLedger) keeps
// no ledger: the freshness routes answer 501 and the dashboard leaves the
// section out. A ledger that cannot be read gives a connector counts of
// -1 and an "error" in api/freshness, and 503 on api/freshness/{name}.
//
// # Bulk replay
//
// POST api/replay with event= replays that event's dead letters (on one
// connector with connector=), superseded or not; the store's rules decide
// (a versioned record older than the partner's is refused as stale).
// Without event= it is a
// bulk replay of the letters that match connector, type and since (or
// all=1): at most limit of them (the newest; default 100, at most 1000),
// superseded ones left alone, pushed oldest first. It must carry expect=N,
// the count that GET api/replay with the same query showed the operator;
// when the count is no longer N, it answers 409 with the new "count" and
// replays nothing. The page's "Replay…" button of a connector does this
// with a confirmation that shows the count.
//
// # Configuration
//
// Write actions are off unless [WithWrites] enables them. [WithAuthorize]
// checks every request; [WithAllowedHosts] names the hosts the service is
// reached by; [WithTokenTTL] sets how long a session and its tokens live
// (default 1h). [WithTitle] names the dashboard; [WithRateWindow] sets the
// span of the throughput and error rates (default one minute);
// [WithStatusInterval] sets how often the stream sends the status
// (default 2s); [WithMaxStreams] caps the live streams (default 64) and
// [WithStreamWriteTimeout] bounds each write to one (default 10s);
// [WithTrustedOrigin] accepts writes carrying another Origin (the monitor
// serves no CORS, so not from a browser page of another origin);
// [WithBacklog] shows a queue such as a transactional outbox;
// [WithLogger] receives the causes of 503 answers and of the fixed error
// texts of write actions (default: none). A zero value
// of an option means its default; an invalid value (a negative duration,
// a malformed host) makes [New] return an error that names the option and
// wraps synclayer.ErrInvalidOption. New never panics.
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
// a stream: the Watch callback only hands the delivery to the stream's
// bounded buffer, and when that is full it marks the stream as behind
// instead of waiting. A stream that fell behind gets an "overflow" event
// and ends; the browser reconnects and the page reloads the list. Every
// write to a stream has a deadline ([WithStreamWriteTimeout]), so a client
// that stops reading holds it no longer than that. At most
// [WithMaxStreams] streams are served at once; one more answers 503.
//
// A stream ends when its client goes, when its request's context ends, or
// at [Handler.Close]. [http.Server.Shutdown] waits for active requests, so
// register the monitor's Close with the server to end the streams at
// once:
//
//	srv.RegisterOnShutdown(func() { mon.Close() })
//
// # Security
//
// Every request passes two checks before anything else. The Host header
// must name an allowed host ([WithAllowedHosts]; by default the loopback
// names localhost, 127.0.0.1 and [::1] on the port the request came in
// on), else 403: a foreign site whose name was pointed at the service's
// address (DNS rebinding) sends its own name and is refused. Then the
// [WithAuthorize] checks run: an error answers 401 when it wraps
// [ErrUnauthenticated] (with the WWW-Authenticate challenge the error
// gives, if any), else 403, with a generic body.
//
// A write action must be a POST, be enabled ([WithWrites]), pass
// [http.CrossOriginProtection] and carry an Origin, when it has one, of
// the request's own host or a trusted origin, and carry in the
// [TokenHeader] header a CSRF token bound to the request's session. Over
// plain HTTP, a Host without a port matches an Origin on its scheme's
// default port, http or https, so a same-origin page behind a
// TLS-terminating proxy can write; X-Forwarded-* headers are not read.
// The monitor answers no CORS preflight, so a browser page of another
// origin cannot write even when [WithTrustedOrigin] trusts it: serve that
// page and the monitor under one origin through a proxy. GET /
// and GET api/token start the session (or renew it): they set the
// [SessionCookie] cookie (HttpOnly, SameSite=Strict, Secure over TLS,
// scoped to the mount path) holding a random session id, and give a token
// made from it by HMAC under a key drawn at random by [New], so only that
// [Handler] takes the token (behind one address, several processes need
// a client's requests sent to the one that started its session). Both
// expire after the token TTL; the page renews them at half of it. A script
// first GETs api/token with a cookie jar, then sends the token with its
// POSTs.
//
// The page is served with a Content-Security-Policy that allows only its
// own script and style, and its script puts every text from the server in
// the page with textContent: an error text holding markup, such as a
// partner's "<script>", is shown as text and never runs.
//
// # Errors
//
// Every error answer is JSON, {"error": "monitor: ..."} ([Error]): 400 for a
// malformed or unknown query parameter; 401 and 403 as above, and 403 when write actions are
// disabled, the origin is foreign or the session or token is missing,
// invalid or expired; 404 for an unknown route, connector or event id, or
// a key the freshness ledger holds no entry of; 405
// for a wrong method; 409 for a bulk replay whose count changed; 501 for
// the freshness routes of a dispatcher without a freshness ledger; 503 when
// the delivery log or the freshness ledger cannot be read, the handler is closed or the streams
// are at their cap. A log or ledger that cannot be read answers a fixed
// text ("monitor: the delivery log cannot be read", "monitor: the
// freshness ledger cannot be read"): its error, which can name a database
// host, a user or SQL, goes to the [WithLogger] logger only. So does a
// write action that cannot read the log before its first push.
//
// A write action that stopped part way answers 200 with the results so
// far and, in "error", a fixed text that names what failed, found by the
// error's type: "monitor: stopped: the delivery log cannot be read", or
// the idempotency store (synclayer.ErrStore), an announcement
// (synclayer.ErrPublish), the request, a letter no longer routed. A resume
// lets its connector go before it reads the connector's queue, so it
// answers so even when it pushed nothing. In the results, a push that
// failed in its mapping, at the partner or while it waited for its key
// ([synclayer.SyncError] Op "map", "sync" or "wait for key") shows its
// error: the mapper's or the partner's answer (or the request's end),
// which the connectors keep free of secrets. A push that failed
// in the idempotency store (its error wraps synclayer.ErrStore, even
// beside the partner's answer), in the delivery log or elsewhere shows a
// fixed text. Every error so hidden goes to the [WithLogger] logger.
//
// A [Handler] is safe for concurrent use.
package monitor
