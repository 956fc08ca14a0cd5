package monitor

import (
	"context"
	"net/http"
	"slices"
	"time"

	"github.com/hmsplatform/synclayer"
)

// Freshness is the body of GET api/freshness: what the dispatcher's
// freshness ledger holds for every connector.
type Freshness struct {
	Time time.Time `json:"time"`
	// Connectors are the registered connectors, in registration order.
	Connectors []ConnectorFreshness `json:"connectors"`
}

// ConnectorFreshness is one connector's [synclayer.LedgerSummary], with the
// ages of its oldest entries as of [Freshness].Time.
type ConnectorFreshness struct {
	synclayer.LedgerSummary
	// OldestBehindSeconds is how long the entry behind for the longest has
	// been behind (0 when none is).
	OldestBehindSeconds float64 `json:"oldestBehindSeconds"`
	// OldestUnverifiedSeconds is the age of the push of the oldest
	// unverified entry (0 when none is).
	OldestUnverifiedSeconds float64 `json:"oldestUnverifiedSeconds"`
	// Resync is the newest resync of the connector, running or finished
	// ([synclayer.Dispatcher.Resyncs]); absent when there has been none.
	Resync *synclayer.ResyncProgress `json:"resync,omitempty"`
	// Error is set, and Keys, Behind and Unverified are -1, when the
	// ledger could not be read. It says only that: the cause may name the
	// database.
	Error string `json:"error,omitempty"`
}

// Holding is the body of GET api/freshness/{connector}?key=K and a row of
// [HoldingPage]: a [synclayer.Holding] with its Behind verdict.
type Holding struct {
	synclayer.Holding
	// Behind reports [synclayer.Holding.Behind]: a newer version is wanted,
	// or the last check found the partner's record missing or different.
	Behind bool `json:"behind"`
}

// HoldingPage is the body of GET api/freshness/{connector}?after=&limit=:
// a page of the connector's ledger entries in key order.
type HoldingPage struct {
	Connector string    `json:"connector"`
	Holdings  []Holding `json:"holdings"`
	// Next is the after= of the next page; empty on the last page.
	Next string `json:"next,omitempty"`
}

// errNoLedgerText answers the freshness routes of a dispatcher without a
// ledger.
const errNoLedgerText = "monitor: the dispatcher keeps no freshness ledger (it was built with synclayer.WithLedger(synclayer.NoLedger))"

// errLedgerText answers a ledger that could not be read; the cause is
// not sent (it may name the database).
const errLedgerText = "monitor: the freshness ledger cannot be read"

// freshnessLedger returns the dispatcher's ledger, or answers 501 and
// returns nil when it keeps none.
func (h *Handler) freshnessLedger(w http.ResponseWriter) synclayer.Ledger {
	l := h.d.Ledger()
	if l == nil {
		writeError(w, http.StatusNotImplemented, errNoLedgerText)
	}
	return l
}

func (h *Handler) serveFreshness(w http.ResponseWriter, r *http.Request) {
	if err := noQuery(r.URL.RawQuery); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	l := h.freshnessLedger(w)
	if l == nil {
		return
	}
	writeJSON(w, http.StatusOK, h.freshness(r.Context(), l))
}

// freshness reads the summary of every registered connector.
func (h *Handler) freshness(ctx context.Context, l synclayer.Ledger) Freshness {
	now := h.now()
	st := h.d.Status()
	resyncs := h.d.Resyncs()
	out := Freshness{Time: now, Connectors: make([]ConnectorFreshness, len(st))}
	for i, c := range st {
		s, err := l.Summary(ctx, c.Name)
		if err != nil {
			out.Connectors[i] = ConnectorFreshness{
				LedgerSummary: synclayer.LedgerSummary{Connector: c.Name, Keys: -1, Behind: -1, Unverified: -1},
				Error:         errLedgerText,
			}
			continue
		}
		s.Connector = c.Name
		out.Connectors[i] = ConnectorFreshness{LedgerSummary: s, Resync: newestResync(resyncs, c.Name),
			OldestBehindSeconds: age(now, s.OldestBehindAt), OldestUnverifiedSeconds: age(now, s.OldestUnverifiedAt)}
	}
	return out
}

// newestResync returns the last of ps (oldest first) that covers
// connector, or nil.
func newestResync(ps []synclayer.ResyncProgress, connector string) *synclayer.ResyncProgress {
	for i := len(ps) - 1; i >= 0; i-- {
		if slices.Contains(ps[i].Connectors, connector) {
			return &ps[i]
		}
	}
	return nil
}

// age is how long before now t was, in seconds; 0 for the zero time or a
// time ahead of now.
func age(now, t time.Time) float64 {
	if t.IsZero() {
		return 0
	}
	return max(0, now.Sub(t).Seconds())
}

// serveConnectorFreshness answers GET api/freshness/{connector}: the entry
// of one key with key=, else a page of entries with after= and limit=.
func (h *Handler) serveConnectorFreshness(w http.ResponseWriter, r *http.Request, connector string) {
	q, err := parseHoldingQuery(r.URL.RawQuery)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	l := h.freshnessLedger(w)
	if l == nil {
		return
	}
	if !slices.ContainsFunc(h.d.Status(), func(c synclayer.ConnectorStatus) bool { return c.Name == connector }) {
		writeError(w, http.StatusNotFound, "monitor: no such connector")
		return
	}
	if q.byKey {
		hd, ok, err := l.Holding(r.Context(), connector, q.key)
		switch {
		case err != nil:
			h.unavailable(w, r, errLedgerText, err)
		case !ok:
			writeError(w, http.StatusNotFound, "monitor: the freshness ledger holds no entry of key "+echo(q.key)+" at "+echo(connector))
		default:
			writeJSON(w, http.StatusOK, Holding{Holding: hd, Behind: hd.Behind()})
		}
		return
	}
	// One more than the page tells whether there is a next one.
	list, err := l.Holdings(r.Context(), connector, q.after, q.limit+1)
	if err != nil {
		h.unavailable(w, r, errLedgerText, err)
		return
	}
	page := HoldingPage{Connector: connector, Holdings: make([]Holding, 0, min(len(list), q.limit))}
	if len(list) > q.limit {
		list = list[:q.limit]
		page.Next = list[len(list)-1].Key
	}
	for _, hd := range list {
		page.Holdings = append(page.Holdings, Holding{Holding: hd, Behind: hd.Behind()})
	}
	writeJSON(w, http.StatusOK, page)
}
