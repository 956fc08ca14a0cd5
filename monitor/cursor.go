package monitor

import (
	"bytes"
	"crypto/hmac"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hmsplatform/synclayer"
)

// cursor marks where a page of a list starts: after the row it names, in
// the delivery log's order (most recently updated first). Its text form,
// the "next" of a page, is opaque and signed: the handler reads only the
// cursors it gave, for the query it gave them for (see
// [Handler.readCursor]), so a client cannot make it look for a row it
// never listed. The zero cursor is the start of the list.
type cursor struct {
	updated          time.Time
	event, connector string
	// pos is how many rows of the list came before the next page when the
	// cursor was given: where the page starts, unless the log changed.
	pos int
}

// maxCursorText bounds the text form of a cursor: two texts of maxText
// bytes, a time, a position and a MAC, in base64.
const maxCursorText = 4 * maxText

var errBadCursor = errors.New("monitor: bad cursor")

// IsZero reports whether c is the start of the list.
func (c cursor) IsZero() bool { return c.updated.IsZero() && c.event == "" && c.connector == "" }

// cursorScope is what a cursor is bound to: the list (route) and what
// its query selects, f as parsed from rawQuery, but the limit (a walk may
// change its page size). Queries that select the same rows share their
// cursors however they are written: the states are sorted and without
// repeats, empty parameters are left out, and since is the instant of an
// RFC 3339 time, or the duration of a duration (which is not resolved to
// a time: the walk's pages resolve it each).
func cursorScope(route, rawQuery string, f synclayer.DeliveryFilter) string {
	q := url.Values{}
	for _, p := range []struct{ name, v string }{
		{paramEvent, f.EventID}, {paramConnector, f.Connector}, {paramType, f.EventType}, {paramKey, f.Key},
	} {
		if p.v != "" {
			q.Set(p.name, p.v)
		}
	}
	if len(f.States) > 0 {
		var names []string
		for _, st := range slices.Sorted(slices.Values(f.States)) { // without repeats: see deliveryFilter
			names = append(names, st.String())
		}
		q.Set(paramState, strings.Join(names, ","))
	}
	raw, _ := url.ParseQuery(rawQuery) // parsed without error before
	if v := raw.Get(paramSince); v != "" {
		if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
			q.Set(paramSince, strconv.FormatInt(t.UnixNano(), 10))
		} else if d, err := time.ParseDuration(v); err == nil {
			q.Set(paramSince, d.String())
		}
	}
	return route + "?" + q.Encode()
}

// cursorText returns the text form of c, signed for scope ("" for the
// zero cursor).
func (h *Handler) cursorText(c cursor, scope string) string {
	if c.IsZero() {
		return ""
	}
	b, _ := json.Marshal([]any{c.updated.UnixNano(), c.event, c.connector, c.pos})
	return base64.RawURLEncoding.EncodeToString(b) + "." + base64.RawURLEncoding.EncodeToString(h.cursorMAC(scope, b))
}

func (h *Handler) cursorMAC(scope string, payload []byte) []byte {
	return h.mac("cursor", append([]byte(scope+"\x00"), payload...))
}

// readCursor returns the cursor of text s, which must be one that
// cursorText gave for scope, with the same secret (cursors end with the
// handler). Any other text is errBadCursor.
func (h *Handler) readCursor(s, scope string) (cursor, error) {
	p64, m64, ok := strings.Cut(s, ".")
	if !ok || len(s) > maxCursorText {
		return cursor{}, errBadCursor
	}
	payload, err1 := base64.RawURLEncoding.DecodeString(p64)
	mac, err2 := base64.RawURLEncoding.DecodeString(m64)
	if err1 != nil || err2 != nil || !hmac.Equal(mac, h.cursorMAC(scope, payload)) {
		return cursor{}, errBadCursor
	}
	var v struct {
		ns               int64
		event, connector string
		pos              int
	}
	dec := json.NewDecoder(bytes.NewReader(payload))
	if err := dec.Decode(&[]any{&v.ns, &v.event, &v.connector, &v.pos}); err != nil {
		return cursor{}, errBadCursor
	}
	if v.ns <= 0 || v.pos < 1 || v.pos > logWindow {
		return cursor{}, errBadCursor
	}
	return cursor{updated: time.Unix(0, v.ns), event: v.event, connector: v.connector, pos: v.pos}, nil
}

// cursorAt is the cursor after d, the row at index pos-1 of the list.
func cursorAt(d synclayer.Delivery, pos int) cursor {
	return cursor{updated: d.Updated, event: d.EventID, connector: d.Connector, pos: pos}
}

// is reports whether d is the row c names, unchanged.
func (c cursor) is(d synclayer.Delivery) bool {
	return d.EventID == c.event && d.Connector == c.connector && d.Updated.Equal(c.updated)
}
