package partner

import (
	"strconv"
	"strings"
	"time"
)

// Error is one failed exchange with a partner over HTTP: the method, the
// URL, the status, a bounded snippet of the partner's answer and the
// Retry-After it sent. A connector returns it wrapped (in
// synclayer.Permanent or synclayer.RetryAfter); find it with errors.As.
// When a connector builds it, its texts hold no secret: the URL keeps no
// user info or query values and every text is scrubbed of the exchange's
// credentials.
type Error struct {
	Prefix     string        // the connector's package name, e.g. "rest"
	Method     string        // "PUT"
	URL        string        // redacted
	StatusCode int           // 0 when no response arrived
	Status     string        // "503 Service Unavailable"; "" when no response arrived
	Body       string        // redacted snippet of the response body
	RetryAfter time.Duration // the partner's Retry-After, 0 if none
	Kind       error         // one of the Err... categories of this package
	Err        error         // the cause: a transport error, a SOAP fault; nil for a plain status
	Message    string        // the cause's text as Error shows it (redacted); "" shows Err's own text
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
	b.WriteString(e.URL)
	if e.Method != "" || e.URL != "" {
		b.WriteString(": ")
	}
	switch {
	case e.Status != "":
		b.WriteString(e.Status)
	case e.StatusCode != 0:
		b.WriteString(strconv.Itoa(e.StatusCode))
	}
	msg := e.Message
	if msg == "" && e.Err != nil {
		msg = e.Err.Error()
	}
	if msg != "" {
		if e.StatusCode != 0 {
			b.WriteString(": ")
		}
		b.WriteString(msg)
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

// Retryable reports whether the category is worth another attempt:
// ErrNetwork, ErrUnavailable or ErrRateLimited.
func (e *Error) Retryable() bool {
	return Retryable(e.Kind)
}

// Retryable reports whether a category is worth another attempt:
// ErrNetwork, ErrUnavailable or ErrRateLimited.
func Retryable(kind error) bool {
	return kind == ErrNetwork || kind == ErrUnavailable || kind == ErrRateLimited
}
