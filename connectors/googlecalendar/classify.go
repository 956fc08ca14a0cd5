package googlecalendar

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"google.golang.org/api/googleapi"

	"github.com/hmsplatform/synclayer/connectors/partner"
	"github.com/hmsplatform/synclayer/internal/clip"
	"github.com/hmsplatform/synclayer/internal/httpx"
)

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
			e.Kind = partner.ErrUnavailable
		}
		if ge.Code == http.StatusForbidden && slices.ContainsFunc(e.Reasons, func(r string) bool { return slices.Contains(rateReasons, r) }) {
			e.Kind = partner.ErrRateLimited
		}
		if e.Retryable() && ge.Header != nil {
			if d, ok := httpx.ParseRetryAfter(ge.Header.Get("Retry-After"), time.Now()); ok {
				e.RetryAfter = d
			}
		}
	default: // a transport error, a timeout, a cancelled context
		e.Kind = partner.ErrNetwork
		e.Message = err.Error()
	}
	e.Message = clip.String(strings.TrimSpace(c.cls.Redact(nil, e.Message)), maxMessage)
	return httpx.Mark(e, e.Retryable(), e.RetryAfter)
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
	cp := &googleapi.Error{Code: ge.Code, Message: scrub(ge.Message), Body: clip.String(strings.TrimSpace(scrub(ge.Body)), maxMessage)}
	if ra := ge.Header.Get("Retry-After"); ra != "" {
		cp.Header = http.Header{"Retry-After": {ra}}
	}
	for _, it := range ge.Errors {
		cp.Errors = append(cp.Errors, googleapi.ErrorItem{Reason: it.Reason, Message: scrub(it.Message)})
	}
	return cp
}
