package monitor

import (
	"context"
	"net/http"
	"slices"
	"time"

	"github.com/hmsplatform/synclayer"
)

// Delivery is a delivery as the monitor shows it: [synclayer.Delivery]
// without the source event (event data never leaves through the monitor),
// with its duration in milliseconds.
type Delivery struct {
	EventID      string           `json:"eventId"`
	EventType    string           `json:"eventType"`
	Connector    string           `json:"connector"`
	Key          string           `json:"key,omitempty"`
	State        synclayer.Status `json:"state"`
	Attempts     int              `json:"attempts"`
	FirstAttempt time.Time        `json:"firstAttempt,omitzero"`
	LastAttempt  time.Time        `json:"lastAttempt,omitzero"`
	// DurationMs is the time the push took, in milliseconds (fractional).
	DurationMs float64 `json:"durationMs"`
	// Error is [synclayer.Delivery].Error: a partner's or mapper's answer,
	// or a fixed text for a failure of the idempotency store.
	Error       string    `json:"error,omitempty"`
	PartnerID   string    `json:"partnerId,omitempty"`
	PayloadHash string    `json:"payloadHash,omitempty"`
	Updated     time.Time `json:"updated"`
	// Superseded marks a dead letter (or failed delivery) whose key a later
	// delivery to the same connector synced, judged by time, not version:
	// see [Waiting]. For unversioned records a replay would push older
	// content; for versioned ones the letter may hold the newer version,
	// and the store refuses a replay of an older one as stale.
	Superseded bool `json:"superseded,omitempty"`
}

func toDelivery(d synclayer.Delivery) Delivery {
	return Delivery{EventID: d.EventID, EventType: d.EventType, Connector: d.Connector, Key: d.Key, State: d.State,
		Attempts: d.Attempts, FirstAttempt: d.FirstAttempt, LastAttempt: d.LastAttempt,
		DurationMs: float64(d.Duration.Microseconds()) / 1000, Error: d.Error, PartnerID: d.PartnerID,
		PayloadHash: d.PayloadHash, Updated: d.Updated}
}

// deliveries converts a list, marking superseded dead letters.
func (h *Handler) deliveries(list []synclayer.Delivery) []Delivery {
	out := make([]Delivery, len(list))
	for i, d := range list {
		out[i] = toDelivery(d)
		if d.State == synclayer.StatusDead || d.State == synclayer.StatusFailed {
			out[i].Superseded = h.ledger.superseded(d.EventID, d.Connector)
		}
	}
	return out
}

// logWindow is the most a page reads from the log to find its rows; a
// list walks at most this many rows.
const logWindow = 10_000

// listPage returns the n rows after c of the list that list(limit) reads
// from the log (its most recently updated rows, up to limit, in the log's
// order), and the cursor of the next page (zero at the end). The delivery
// log has no cursor of its own, so listPage reads the newest rows up to
// the page: c.pos rows (where the page started when c was given), the n
// rows of the page, one to tell whether a next page follows, and n rows
// of room for rows that moved in front of c since. When c's row lies
// further on than that (the log changed more), it reads logWindow rows,
// once: a page reads the log at most twice, and never more than
// logWindow rows at a time. When the cursor's row was updated since (it
// moved to the front), the page goes on with the rows updated before it.
func listPage(ctx context.Context, list func(ctx context.Context, limit int) ([]synclayer.Delivery, error), c cursor, n int) ([]synclayer.Delivery, cursor, error) {
	for _, window := range []int{min(c.pos+2*n+1, logWindow), logWindow} {
		rows, err := list(ctx, window)
		if err != nil {
			return nil, cursor{}, err
		}
		end := len(rows) < window || window >= logWindow // the window holds all there is to read
		i := 0
		if !c.IsZero() {
			i = slices.IndexFunc(rows, c.is) + 1
			if i == 0 && !end {
				continue // the cursor's row is further on
			}
			if i == 0 {
				i = slices.IndexFunc(rows, func(d synclayer.Delivery) bool { return d.Updated.Before(c.updated) })
				if i < 0 {
					i = len(rows)
				}
			}
		}
		rest := rows[i:]
		if len(rest) > n {
			return rest[:n], cursorAt(rest[n-1], i+n), nil
		}
		if end {
			if len(rows) >= window && len(rest) > 0 {
				// The window's edge: go on from its last row.
				return rest, cursorAt(rest[len(rest)-1], len(rows)), nil
			}
			return rest, cursor{}, nil
		}
	}
	return nil, cursor{}, nil // not reached: the last window is logWindow
}

// DeliveryPage is the body of GET api/deliveries.
type DeliveryPage struct {
	Deliveries []Delivery `json:"deliveries"`
	// Next is the cursor of the next page; empty on the last page.
	Next string `json:"next,omitempty"`
}

// DeadLetterPage is the body of GET api/dead-letters.
type DeadLetterPage struct {
	DeadLetters []Delivery `json:"deadLetters"`
	// Next is the cursor of the next page; empty on the last page.
	Next string `json:"next,omitempty"`
}

func (h *Handler) serveDeliveries(w http.ResponseWriter, r *http.Request) {
	f, c, err := parseFilter(r.URL.RawQuery)
	h.serveList(w, r, cursorScope("deliveries", r.URL.RawQuery, f), err, c, &f.Limit, func(ctx context.Context) ([]synclayer.Delivery, error) { return h.d.Deliveries(ctx, f) },
		func(rows []Delivery, next string) any { return DeliveryPage{Deliveries: rows, Next: next} })
}

func (h *Handler) serveDeadLetters(w http.ResponseWriter, r *http.Request) {
	f, c, err := parseReplayFilter(r.URL.RawQuery)
	h.serveList(w, r, cursorScope("dead-letters", r.URL.RawQuery, f), err, c, &f.Limit, func(ctx context.Context) ([]synclayer.Delivery, error) { return h.d.DeadLetters(ctx, f) },
		func(rows []Delivery, next string) any { return DeadLetterPage{DeadLetters: rows, Next: next} })
}

// serveList answers a request of a list whose query parsed with error
// parseErr (400 when not nil) into a filter and cursor text ct (400 when
// it is not a cursor this handler gave for scope, the list and what its
// query selects: see cursorScope). It reads the page after the cursor through list, which sees
// the filter's limit, *limit, set to what it should read; and answers
// with body, given the rows as the monitor shows them and the next page's
// cursor.
func (h *Handler) serveList(w http.ResponseWriter, r *http.Request, scope string, parseErr error, ct string, limit *int,
	list func(ctx context.Context) ([]synclayer.Delivery, error), body func(rows []Delivery, next string) any) {
	var c cursor
	if parseErr == nil && ct != "" {
		var err error
		if c, err = h.readCursor(ct, scope); err != nil {
			parseErr = badQuery("cursor %s is not the next of a page of this query: give the next of the page before, with the same query (a walk ends when the service restarts, and works on one process only)", echo(ct))
		}
	}
	if parseErr != nil {
		writeError(w, http.StatusBadRequest, parseErr.Error())
		return
	}
	rows, next, err := listPage(r.Context(), func(ctx context.Context, n int) ([]synclayer.Delivery, error) {
		*limit = n
		return list(ctx)
	}, c, *limit)
	if err != nil {
		h.unavailable(w, r, errLogText, err)
		return
	}
	h.ledger.refresh(r.Context(), h.d)
	writeJSON(w, http.StatusOK, body(h.deliveries(rows), h.cursorText(next, scope)))
}

// EventOutcome is the body of GET api/events/{id}.
type EventOutcome struct {
	EventID    string     `json:"eventId"`
	EventType  string     `json:"eventType"`
	Deliveries []Delivery `json:"deliveries"`
}

func (h *Handler) serveEvent(w http.ResponseWriter, r *http.Request, id string) {
	if err := noQuery(r.URL.RawQuery); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if checkText("event id", id) != nil {
		writeError(w, http.StatusNotFound, "monitor: no such event")
		return
	}
	list, err := h.d.Deliveries(r.Context(), synclayer.DeliveryFilter{EventID: id, Limit: MaxLimit})
	if err != nil {
		h.unavailable(w, r, errLogText, err)
		return
	}
	if len(list) == 0 {
		writeError(w, http.StatusNotFound, "monitor: no such event")
		return
	}
	h.ledger.refresh(r.Context(), h.d)
	writeJSON(w, http.StatusOK, EventOutcome{EventID: id, EventType: list[0].EventType, Deliveries: h.deliveries(list)})
}
