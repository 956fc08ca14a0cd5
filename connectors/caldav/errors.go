package caldav

import (
	"errors"

	"github.com/hmsplatform/synclayer/internal/httpx"
)

// Error categories, tested with errors.Is. The HTTP ones are shared with
// the other HTTP connectors of synclayer; the details of a failed exchange
// are in an *httpx.Error reached with errors.As through the [Error] alias.
var (
	// ErrNetwork: the exchange failed below HTTP. Retryable.
	ErrNetwork = httpx.ErrNetwork
	// ErrUnavailable: 408, 425, 500, 502, 503 or 504. Retryable.
	ErrUnavailable = httpx.ErrUnavailable
	// ErrRateLimited: 429. Retryable.
	ErrRateLimited = httpx.ErrRateLimited
	// ErrUnauthorized: 401 or 403: the client's credentials were refused.
	// Permanent.
	ErrUnauthorized = httpx.ErrUnauthorized
	// ErrNotFound: 404 or 410 on a write (the collection does not exist).
	// Permanent.
	ErrNotFound = httpx.ErrNotFound
	// ErrConflict: 409, or a 412 that re-reading did not resolve (the
	// latter is retryable).
	ErrConflict = httpx.ErrConflict
	// ErrRejected: any other status. Permanent.
	ErrRejected = httpx.ErrRejected

	// ErrUIDConflict: another object in the collection already uses the
	// key's UID (CALDAV:no-uid-conflict). Permanent.
	ErrUIDConflict = errors.New("UID already used by another object of the collection")
	// ErrKeyMismatch: the object at the key's path names another key in its
	// X-SYNCLAYER-KEY property. Permanent.
	ErrKeyMismatch = errors.New("object belongs to another key")
	// ErrInvalidPayload: the payload is not a usable event. Permanent.
	ErrInvalidPayload = errors.New("invalid payload")
)

// Error is a failed HTTP exchange with the CalDAV server: method, redacted
// URL, status and a bounded snippet of the answer.
type Error = httpx.Error
