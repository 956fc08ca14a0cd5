package httpx

import (
	"errors"
	"strconv"
	"strings"
	"time"
)

// Categories of failure, tested with errors.Is.
var (
	// ErrNetwork: the exchange failed below HTTP (refused, reset, timed
	// out, truncated). Retryable: the partner may or may not have applied
	// the request.
	ErrNetwork = errors.New("network error")
	// ErrUnavailable: 408, 425, 500, 502, 503 or 504. Retryable.
	ErrUnavailable = errors.New("partner unavailable")
	// ErrRateLimited: 429 Too Many Requests. Retryable.
	ErrRateLimited = errors.New("rate limited")
	// ErrNotFound: 404 or 410. Permanent.
	ErrNotFound = errors.New("not found")
	// ErrConflict: 409 or 412. Permanent.
	ErrConflict = errors.New("conflict")
	// ErrUnauthorized: 401 or 403. Permanent: credentials live in the
	// caller's http.Client, which must refresh them.
	ErrUnauthorized = errors.New("unauthorized")
	// ErrRejected: any other status outside 2xx (400, 422, 501, an
	// unfollowed redirect, ...). Permanent.
	ErrRejected = errors.New("rejected")
)

// MaxSnippet bounds how much of a partner's error body an [Error] keeps.
const MaxSnippet = 4 << 10

// Error is one failed HTTP exchange. Its fields are already redacted.
type Error struct {
	Prefix     string        // the connector's package name, e.g. "rest"
	Method     string        // "PUT"
	URL        string        // redacted
	StatusCode int           // 0 when no response arrived
	Status     string        // "503 Service Unavailable"; "" when no response arrived
	Body       string        // redacted snippet of the response body, at most MaxSnippet bytes
	RetryAfter time.Duration // the partner's Retry-After, 0 if none
	Kind       error         // one of the Err... categories
	Err        error         // the cause: a transport error, a fault; nil for a plain status
	msg        string        // the cause's text, redacted
}

// Error reports prefix, method, URL, status or cause, and the body snippet.
func (e *Error) Error() string {
	var b strings.Builder
	if e.Prefix != "" {
		b.WriteString(e.Prefix)
		b.WriteString(": ")
	}
	if e.Method != "" {
		b.WriteString(e.Method)
		b.WriteByte(' ')
	}
	if e.URL != "" {
		b.WriteString(e.URL)
	}
	if e.Method != "" || e.URL != "" {
		b.WriteString(": ")
	}
	switch {
	case e.Status != "":
		b.WriteString(e.Status)
	case e.StatusCode != 0:
		b.WriteString(strconv.Itoa(e.StatusCode))
	}
	if e.msg != "" {
		if e.StatusCode != 0 {
			b.WriteString(": ")
		}
		b.WriteString(e.msg)
	} else if e.StatusCode == 0 && e.Kind != nil {
		b.WriteString(e.Kind.Error())
	}
	if e.RetryAfter > 0 {
		b.WriteString(" (retry after ")
		b.WriteString(e.RetryAfter.String())
		b.WriteByte(')')
	}
	if e.Body != "" {
		b.WriteString(": body: ")
		b.WriteString(strconv.Quote(e.Body))
	}
	return b.String()
}

// Unwrap returns the category and the cause, so errors.Is works for both
// (ErrRateLimited, context.DeadlineExceeded, io.ErrUnexpectedEOF, ...).
func (e *Error) Unwrap() []error {
	errs := make([]error, 0, 2)
	if e.Kind != nil {
		errs = append(errs, e.Kind)
	}
	if e.Err != nil {
		errs = append(errs, e.Err)
	}
	return errs
}

// Retryable reports whether the category is worth another attempt.
func (e *Error) Retryable() bool {
	return e.Kind == ErrNetwork || e.Kind == ErrUnavailable || e.Kind == ErrRateLimited
}

// KindOf returns the category of an HTTP status code; nil for 2xx.
func KindOf(code int) error {
	switch {
	case code >= 200 && code < 300:
		return nil
	case code == 429:
		return ErrRateLimited
	case code == 408, code == 425, code == 500, code == 502, code == 503, code == 504:
		return ErrUnavailable
	case code == 404, code == 410:
		return ErrNotFound
	case code == 409, code == 412:
		return ErrConflict
	case code == 401, code == 403:
		return ErrUnauthorized
	}
	return ErrRejected
}

// Retryable reports whether a response with this status is worth another
// attempt: 408, 425, 429, 500, 502, 503, 504.
func Retryable(code int) bool {
	k := KindOf(code)
	return k == ErrUnavailable || k == ErrRateLimited
}
