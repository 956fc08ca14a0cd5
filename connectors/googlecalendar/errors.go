package googlecalendar

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"google.golang.org/api/googleapi"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/internal/httpx"
)

// Error categories, tested with errors.Is. The HTTP ones are shared with
// the other HTTP connectors of synclayer.
var (
	// ErrNetwork: the exchange failed below HTTP. Retryable.
	ErrNetwork = httpx.ErrNetwork
	// ErrUnavailable: 408, 500, 502, 503 or 504. Retryable.
	ErrUnavailable = httpx.ErrUnavailable
	// ErrRateLimited: 429, or 403 with reason rateLimitExceeded,
	// userRateLimitExceeded or quotaExceeded. Retryable.
	ErrRateLimited = httpx.ErrRateLimited
	// ErrUnauthorized: 401, or 403 for another reason (such as
	// forbiddenForNonOrganizer). Permanent.
	ErrUnauthorized = httpx.ErrUnauthorized
	// ErrNotFound: 404 or 410 (the calendar does not exist, or the event
	// is gone). Permanent.
	ErrNotFound = httpx.ErrNotFound
	// ErrConflict: 409 or 412 that re-reading did not resolve. A 412 after
	// several re-reads is retryable; any other conflict is permanent.
	ErrConflict = httpx.ErrConflict
	// ErrRejected: any other status (400, ...). Permanent.
	ErrRejected = httpx.ErrRejected

	// ErrInvalidPayload: the record's payload is not a usable event.
	// Permanent.
	ErrInvalidPayload = errors.New("invalid payload")
	// ErrKeyMismatch: the event at the key's derived id belongs to another
	// key (its private synclayerKey property differs). Permanent.
	ErrKeyMismatch = errors.New("event belongs to another key")
)

// Error is a failed call of the Calendar API.
type Error struct {
	Op         string        // "insert", "get", "update", "delete"
	CalendarID string        // the calendar
	EventID    string        // the derived event id
	Key        string        // the record key
	Code       int           // HTTP status; 0 when no response arrived
	Reasons    []string      // Google's reasons: "duplicate", "rateLimitExceeded", ...
	Message    string        // Google's message or the transport error, redacted and bounded
	RetryAfter time.Duration // the Retry-After hint, 0 if none
	Kind       error         // one of the Err... categories
	Err        error         // the *googleapi.Error or transport error
}

// maxMessage bounds the partner message an Error keeps.
const maxMessage = 1024

// Error reports the operation, event, status, reasons and message.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("googlecalendar: ")
	b.WriteString(e.Op)
	b.WriteString(" event ")
	b.WriteString(e.EventID)
	b.WriteString(" (key ")
	b.WriteString(strconv.Quote(e.Key))
	b.WriteString(") in calendar ")
	b.WriteString(strconv.Quote(e.CalendarID))
	b.WriteString(": ")
	if e.Code != 0 {
		b.WriteString(strconv.Itoa(e.Code))
		if t := http.StatusText(e.Code); t != "" {
			b.WriteByte(' ')
			b.WriteString(t)
		}
	} else if e.Kind != nil {
		b.WriteString(e.Kind.Error())
	}
	if len(e.Reasons) > 0 {
		b.WriteString(" [")
		b.WriteString(strings.Join(e.Reasons, ", "))
		b.WriteString("]")
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if e.RetryAfter > 0 {
		b.WriteString(" (retry after ")
		b.WriteString(e.RetryAfter.String())
		b.WriteString(")")
	}
	return b.String()
}

// Unwrap returns the category and the cause.
func (e *Error) Unwrap() []error {
	errs := []error{e.Kind}
	if e.Err != nil {
		errs = append(errs, e.Err)
	}
	return errs
}

// Retryable reports whether the category is worth another attempt.
// A 412 (the event changed concurrently) is retryable: the next attempt
// reads it again.
func (e *Error) Retryable() bool {
	return e.Kind == ErrNetwork || e.Kind == ErrUnavailable || e.Kind == ErrRateLimited || e.Code == http.StatusPreconditionFailed
}

// rateReasons are the 403 reasons that mean "slow down", not "forbidden".
var rateReasons = []string{"rateLimitExceeded", "userRateLimitExceeded", "quotaExceeded"}

// hasReason reports whether err is a *googleapi.Error with the code and,
// if reason is not empty, the reason.
func hasReason(err error, code int, reason string) bool {
	var ge *googleapi.Error
	if !errors.As(err, &ge) || ge.Code != code {
		return false
	}
	if reason == "" {
		return true
	}
	return slices.ContainsFunc(ge.Errors, func(it googleapi.ErrorItem) bool { return it.Reason == reason })
}

// classify turns what the client returned into a classified error.
func (c *Connector) classify(op, id, key string, err error) error {
	if err == nil {
		return nil
	}
	e := &Error{Op: op, CalendarID: c.cfg.CalendarID, EventID: id, Key: key, Err: c.redactCause(err)}
	var ge *googleapi.Error
	switch {
	case errors.As(err, &ge):
		e.Code = ge.Code
		for _, it := range ge.Errors {
			if it.Reason != "" {
				e.Reasons = append(e.Reasons, it.Reason)
			}
		}
		e.Message = ge.Message
		if e.Message == "" && len(ge.Errors) > 0 {
			e.Message = ge.Errors[0].Message
		}
		e.Kind = httpx.KindOf(ge.Code)
		if e.Kind == nil { // a 2xx error: the body did not decode
			e.Kind = ErrUnavailable
		}
		if ge.Code == http.StatusForbidden && slices.ContainsFunc(e.Reasons, func(r string) bool { return slices.Contains(rateReasons, r) }) {
			e.Kind = ErrRateLimited
		}
		if e.Retryable() && ge.Header != nil {
			if d, ok := httpx.ParseRetryAfter(ge.Header.Get("Retry-After"), time.Now()); ok {
				e.RetryAfter = d
			}
		}
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		e.Kind = ErrNetwork
		e.Message = err.Error()
	default:
		e.Kind = ErrNetwork
		e.Message = err.Error()
	}
	e.Message = bound(c.cls.Redact(nil, e.Message))
	switch {
	case !e.Retryable():
		return synclayer.Permanent(e)
	case e.RetryAfter > 0:
		return synclayer.RetryAfter(e, e.RetryAfter)
	}
	return e
}

// redactCause returns what an Error may keep of err: a *googleapi.Error
// rebuilt from its scrubbed texts (code, reasons, message, a bounded body,
// the Retry-After header and no other), or any other error as
// httpx.Classifier.RedactError keeps it. Nothing unscrubbed stays
// reachable through errors.As or Unwrap.
func (c *Connector) redactCause(err error) error {
	var ge *googleapi.Error
	if !errors.As(err, &ge) {
		return c.cls.RedactError(nil, err)
	}
	scrub := func(s string) string { return c.cls.Redact(nil, s) }
	cp := &googleapi.Error{Code: ge.Code, Message: scrub(ge.Message), Body: bound(scrub(ge.Body))}
	if ra := ge.Header.Get("Retry-After"); ra != "" {
		cp.Header = http.Header{"Retry-After": {ra}}
	}
	for _, it := range ge.Errors {
		cp.Errors = append(cp.Errors, googleapi.ErrorItem{Reason: it.Reason, Message: scrub(it.Message)})
	}
	return cp
}

func bound(s string) string {
	s = strings.ToValidUTF8(strings.TrimSpace(s), "\uFFFD")
	if len(s) <= maxMessage {
		return s
	}
	cut := maxMessage
	for cut > 0 && s[cut]&0xC0 == 0x80 {
		cut--
	}
	return s[:cut] + "…"
}

// invalid builds a permanent payload error.
func invalid(key string, format string, args ...any) error {
	return synclayer.Permanent(fmt.Errorf("googlecalendar: key %q: %w: %s", key, ErrInvalidPayload, fmt.Sprintf(format, args...)))
}
