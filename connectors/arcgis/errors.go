package arcgis

import (
	"errors"
	"strconv"
	"strings"

	"github.com/hmsplatform/synclayer/connectors/partner"
	"github.com/hmsplatform/synclayer/internal/httpx"
)

// Categories of failure found only at ArcGIS, tested with errors.Is. The
// others are those of package partner (see the package doc).
var (
	// ErrToken: the service answered 498 (invalid or expired token) or 499
	// (token required). Permanent: renew the token and rebuild the
	// connector.
	ErrToken = errors.New("token invalid, expired or missing")
	// ErrEdit: applyEdits refused a feature (success false in its
	// addResults, updateResults or deleteResults).
	ErrEdit = errors.New("edit refused")
)

// APIError is an error object of the ArcGIS REST API, either the body's
// top-level "error" or one feature's edit result.
type APIError struct {
	Op       string   // "query", "add", "update", "delete"
	ObjectID int64    // the feature of an edit result, 0 if none
	Code     int      // ArcGIS code: 498, 400, 1000, ...
	Message  string   // "Invalid token."
	Details  []string // extra lines the service gave
}

// Redacted returns a copy of e with scrub applied to its texts, so that
// an error echoing the request keeps no credential.
func (e *APIError) Redacted(scrub func(string) string) error {
	c := *e
	c.Message = scrub(e.Message)
	c.Details = make([]string, len(e.Details))
	for i, d := range e.Details {
		c.Details[i] = scrub(d)
	}
	if e.Details == nil {
		c.Details = nil
	}
	return &c
}

// Error reports the operation, code and message.
func (e *APIError) Error() string {
	var b strings.Builder
	b.WriteString(e.Op)
	if e.ObjectID != 0 {
		b.WriteString(" of object ")
		b.WriteString(strconv.FormatInt(e.ObjectID, 10))
	}
	b.WriteString(" failed: error ")
	b.WriteString(strconv.Itoa(e.Code))
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if len(e.Details) > 0 {
		b.WriteString(" (")
		b.WriteString(strings.Join(e.Details, "; "))
		b.WriteString(")")
	}
	switch e.Code {
	case 498:
		b.WriteString(" [the token is invalid or expired: renew it]")
	case 499:
		b.WriteString(" [the service requires a token: set Config.Token]")
	}
	return b.String()
}

// Unwrap returns ErrToken for codes 498 and 499, ErrEdit for a refused
// feature.
func (e *APIError) Unwrap() error {
	switch {
	case e.Code == 498 || e.Code == 499:
		return ErrToken
	case e.ObjectID != 0 || e.Op == "add" || e.Op == "update" || e.Op == "delete":
		return ErrEdit
	}
	return nil
}

// kindOf maps an ArcGIS error code to an httpx category.
func kindOf(code int) error {
	switch code {
	case 498, 499:
		return partner.ErrUnauthorized
	case 408, 500, 502, 503, 504:
		return partner.ErrUnavailable
	case 429:
		return partner.ErrRateLimited
	}
	if k := httpx.KindOf(code); k == partner.ErrUnauthorized || k == partner.ErrNotFound || k == partner.ErrConflict {
		return k
	}
	return partner.ErrRejected
}

// wireError is the JSON of an ArcGIS error object.
type wireError struct {
	Code        int      `json:"code"`
	Message     string   `json:"message"`
	Description string   `json:"description"`
	Details     []string `json:"details"`
}

func (w *wireError) apiError(op string, oid int64) *APIError {
	msg := w.Message
	if msg == "" {
		msg = w.Description
	}
	const maxDetails = 8
	details := w.Details
	if len(details) > maxDetails {
		details = details[:maxDetails]
	}
	return &APIError{Op: op, ObjectID: oid, Code: w.Code, Message: msg, Details: details}
}
