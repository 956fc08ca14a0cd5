package partner

import "errors"

// Categories of failure, tested with errors.Is. Each connector's package doc
// says which statuses or partner answers map to which category.
var (
	// ErrNetwork: the exchange failed below the partner's protocol
	// (refused, reset, timed out, a response cut short). Retryable: the
	// partner may or may not have applied the change.
	ErrNetwork = errors.New("network error")
	// ErrUnavailable: the partner is down or overloaded for now (HTTP 408,
	// 425, 500, 502, 503, 504, 507 or 520–524, a server fault, an
	// unreadable answer).
	// Retryable.
	ErrUnavailable = errors.New("partner unavailable")
	// ErrRateLimited: the partner asks to slow down (HTTP 429, or its own
	// quota answer). Retryable, after the partner's Retry-After if any.
	ErrRateLimited = errors.New("rate limited")
	// ErrNotFound: what the write addresses does not exist (HTTP 404 or
	// 410 on a write; the collection, layer or calendar is missing).
	// Permanent.
	ErrNotFound = errors.New("not found")
	// ErrConflict: the partner refused the write as conflicting (HTTP 409
	// or 412). Permanent, unless the connector's doc says it re-reads.
	ErrConflict = errors.New("conflict")
	// ErrUnauthorized: the credentials were refused (HTTP 401 or 403).
	// Permanent: credentials live in the caller's http.Client, which must
	// renew them.
	ErrUnauthorized = errors.New("unauthorized")
	// ErrRejected: any other refusal (HTTP 400, 422, 501, a redirect that
	// turned the write into a read, a client fault). Permanent.
	ErrRejected = errors.New("rejected")

	// ErrPayload: the record's payload cannot be sent to this partner (it
	// does not encode, is not the type the connector takes, or is too
	// large). Found before any request is made. Permanent.
	ErrPayload = errors.New("payload cannot be sent")
	// ErrKeyMismatch: what stands at the place the record's key maps to
	// belongs to another key, so the connector refuses to overwrite it.
	// Permanent.
	ErrKeyMismatch = errors.New("belongs to another key")
)
