package monitor

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"time"

	"github.com/hmsplatform/synclayer"
)

// cursor marks where a page of a list starts: after the row it names, in
// the delivery log's order (most recently updated first). Its text form,
// the "next" of a page, is opaque. The zero cursor is the start of the
// list.
type cursor struct {
	updated          time.Time
	event, connector string
}

// IsZero reports whether c is the start of the list.
func (c cursor) IsZero() bool { return c.updated.IsZero() && c.event == "" && c.connector == "" }

// String returns the cursor's text form ("" for the zero cursor).
func (c cursor) String() string {
	if c.IsZero() {
		return ""
	}
	b, _ := json.Marshal([]any{c.updated.UnixNano(), c.event, c.connector})
	return base64.RawURLEncoding.EncodeToString(b)
}

func parseCursor(s string) (cursor, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return cursor{}, err
	}
	var v struct {
		ns               int64
		event, connector string
	}
	if err := json.Unmarshal(b, &[]any{&v.ns, &v.event, &v.connector}); err != nil {
		return cursor{}, err
	}
	if v.ns <= 0 || checkText("cursor", v.event) != nil || checkText("cursor", v.connector) != nil {
		return cursor{}, errors.New("monitor: bad cursor")
	}
	return cursor{updated: time.Unix(0, v.ns), event: v.event, connector: v.connector}, nil
}

func cursorOf(d synclayer.Delivery) cursor {
	return cursor{updated: d.Updated, event: d.EventID, connector: d.Connector}
}

// is reports whether d is the row c names, unchanged.
func (c cursor) is(d synclayer.Delivery) bool {
	return d.EventID == c.event && d.Connector == c.connector && d.Updated.Equal(c.updated)
}
