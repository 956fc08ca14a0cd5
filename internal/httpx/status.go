package httpx

import "github.com/hmsplatform/synclayer/connectors/partner"

// MaxSnippet bounds how much of a partner's error body a [partner.Error]
// keeps.
const MaxSnippet = 4 << 10

// KindOf returns the partner category of an HTTP status code; nil for 2xx.
func KindOf(code int) error {
	switch {
	case code >= 200 && code < 300:
		return nil
	case code == 429:
		return partner.ErrRateLimited
	case code == 408, code == 425, code == 500, code == 502, code == 503, code == 504,
		code == 507, code >= 520 && code <= 524:
		// 507: the partner is out of storage for now. 520–524: a proxy in
		// front of the partner (Cloudflare and the like) could not get an
		// answer from it: unknown error, web server down, connection timed
		// out, origin unreachable, a timeout occurred.
		return partner.ErrUnavailable
	case code == 404, code == 410:
		return partner.ErrNotFound
	case code == 409, code == 412:
		return partner.ErrConflict
	case code == 401, code == 403:
		return partner.ErrUnauthorized
	}
	return partner.ErrRejected
}

// Retryable reports whether a response with this status is worth another
// attempt: 408, 425, 429, 500, 502, 503, 504, 507 and 520–524 (the
// origin errors of a proxy in front of the partner).
func Retryable(code int) bool {
	return KindOf(code) != nil && partner.Retryable(KindOf(code))
}
