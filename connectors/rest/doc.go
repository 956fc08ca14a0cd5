// Package rest is a synclayer connector for a REST records API: the
// records database of the central use case, where each record lives at
// its own URL and PUT creates or replaces it.
//
//	conn, err := rest.New(rest.Config{
//		BaseURL: "https://records.example.com/api",
//		Client:  authClient, // auth, proxies and tracing live here
//	})
//	reg.Register("records", conn, synclayer.Route("WorkflowDeployed", mapper))
//
// # Configuration
//
// [Config] is validated by [New]: a missing or relative BaseURL, a Path
// without exactly one {key}, an unknown method or a header value with CR
// or LF is an error then, not at the first push. By default an upsert is
// PUT {BaseURL}/records/{key} and a delete is DELETE on the same URL. The
// key is escaped as one path segment ("a/b" becomes "a%2Fb"), so keys with
// slashes, percent signs, quotes, spaces or non-ASCII letters address
// exactly one record; "." and ".." are refused with [ErrKey].
//
// The body is Record.Payload encoded with encoding/json; a
// json.RawMessage or []byte payload is sent as it is, if it is valid JSON.
//
// Pass the *http.Client that carries your credentials. Without one, New
// builds a client (see [NewClient]) whose pool holds Concurrency
// connections per host; give a client of your own the same
// MaxIdleConnsPerHost as the connector's synclayer.WithConcurrency.
//
// # Delivery semantics
//
// Every request carries an Idempotency-Key header (see
// [Connector.IdempotencyKey]) derived from the connector name, the key and
// the version, so retries and redeliveries of one change share it. With
// it, Go's transport may also replay a request whose reused connection
// broke before any response. PUT is an idempotent upsert, so a retry after
// a lost response leaves one record. With Method POST the partner must
// treat the request as an upsert by key (or honour Idempotency-Key);
// otherwise retries can create duplicates. A delete answered with 404 or
// 410 counts as done.
//
// # Drift
//
// [Connector] implements drift.Verifier and drift.Repairer.
// [Connector.Verify] GETs the record's URL and compares the JSON it finds
// with the JSON Sync would send, normalised the way partners store JSON:
// numbers as numbers, RFC 3339 times as instants, the strings of
// Config.FoldCase fields case-insensitively; the partner's own extra
// fields are ignored and Config.OwnedFields are never compared.
// [Connector.Repair] writes what Sync would, with the owned fields as the
// partner held them, conditional on the ETag Verify read (If-Match), or on
// there being no record (If-None-Match: *) when Verify found none; a 412
// is drift.ErrConflict and nothing is overwritten. Without ETags the repair
// is unconditional.
//
// # Errors
//
// Sync classifies, the dispatcher retries. Network errors, timeouts, a
// success body cut short, and 408, 425, 429, 500, 502, 503, 504, 507 and
// 520–524 (a proxy's origin errors) are
// retryable (a Retry-After on any of these statuses, in seconds or as an
// HTTP-date, becomes a synclayer.RetryAfter hint). Every other status, a
// redirect that turned the write into a GET, a payload that is not JSON
// ([partner.ErrPayload]) and a dot-segment key ([ErrKey]) are
// synclayer.Permanent. Test the category with errors.Is ([partner.ErrRateLimited],
// [partner.ErrNotFound], ...) and read the details (status, redacted URL, up to 4
// KiB of the partner's body) from [*partner.Error] with errors.As. No error text
// holds the Authorization header, the values of SecretHeaders, a URL
// password, or token-, key-, signature- or password-like query values.
package rest
