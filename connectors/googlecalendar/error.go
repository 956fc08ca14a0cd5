package googlecalendar

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/connectors/partner"
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
	return partner.Retryable(e.Kind) || e.Code == http.StatusPreconditionFailed
}

// invalid builds a permanent payload error.
func invalid(key string, format string, args ...any) error {
	return synclayer.Permanent(fmt.Errorf("googlecalendar: key %q: %w: %s", key, partner.ErrPayload, fmt.Sprintf(format, args...)))
}
