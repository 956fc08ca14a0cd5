package rest

import (
	"errors"

	"github.com/hmsplatform/synclayer/internal/httpx"
)

// Categories of failure, tested with errors.Is. The HTTP ones are shared by
// all of synclayer's HTTP connectors.
var (
	// ErrNetwork: the exchange failed below HTTP (refused, reset, timed
	// out, a body cut short). Retried.
	ErrNetwork = httpx.ErrNetwork
	// ErrUnavailable: 408, 425, 500, 502, 503 or 504. Retried.
	ErrUnavailable = httpx.ErrUnavailable
	// ErrRateLimited: 429. Retried, after the partner's Retry-After if any.
	ErrRateLimited = httpx.ErrRateLimited
	// ErrNotFound: 404 or 410 on an upsert (on a delete they mean done).
	// Permanent.
	ErrNotFound = httpx.ErrNotFound
	// ErrConflict: 409 or 412. Permanent.
	ErrConflict = httpx.ErrConflict
	// ErrUnauthorized: 401 or 403. Permanent; credentials live in the
	// caller's http.Client.
	ErrUnauthorized = httpx.ErrUnauthorized
	// ErrRejected: any other non-2xx status (400, 422, 501, a redirect that
	// turned the write into a GET). Permanent.
	ErrRejected = httpx.ErrRejected

	// ErrPayload: the record's payload cannot be sent as JSON (it does not
	// marshal, or a raw payload is not valid JSON, or it is too large).
	// Permanent.
	ErrPayload = errors.New("rest: payload cannot be sent")
	// ErrKey: the record's key cannot be a URL path segment ("." and
	// ".." would be resolved away). Permanent.
	ErrKey = errors.New("rest: key cannot be a path segment")
)

// Error describes one failed HTTP exchange: method, redacted URL, status,
// a bounded snippet of the partner's body and the Retry-After it sent.
// Find it with errors.As. Its texts never hold a secret.
type Error = httpx.Error
