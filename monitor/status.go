package monitor

import (
	"context"
	"net/http"
	"time"

	"github.com/hmsplatform/synclayer"
)

// Status is the body of GET api/status.
type Status struct {
	Time time.Time `json:"time"`
	// WindowSeconds is the span the rates were computed over; 0 when this
	// is the first sample and there are no rates yet.
	WindowSeconds float64           `json:"windowSeconds"`
	Writes        bool              `json:"writes"`
	Totals        Totals            `json:"totals"`
	Connectors    []ConnectorStatus `json:"connectors"`
	// Backlogs are the queues added with [WithBacklog], in the order added.
	Backlogs []QueueStatus `json:"backlogs"`
	// WaitingCapped is set when the counts of what waits ([Waiting]) may
	// be short. The handler starts them from the newest 10,000 dead,
	// failed and pending deliveries and the newest 10,000 synced ones the
	// log holds, and follows the dispatcher from there; WaitingCapped says
	// that it read 10,000 dead, failed and pending ones, so the log may
	// hold more. Then the entries past those are not counted: the sum of
	// deadLetters, superseded and queued, per connector and in the
	// totals, is a lower bound (and queued is one). It holds until the
	// handler reads the log again. The page shows the counts as "≥ N".
	//
	// 10,000 synced ones read do not set it: the counts are exact, but a
	// letter superseded only by a sync older than those read counts in
	// deadLetters, not superseded (and a bulk replay takes it), so
	// superseded may be short by what deadLetters is over.
	WaitingCapped bool `json:"waitingCapped"`
}

// Rates are computed over the rate window from samples of
// [synclayer.Dispatcher.Status].
type Rates struct {
	// ThroughputPerMin: routes finished (synced, duplicate or stale) per
	// minute.
	ThroughputPerMin float64 `json:"throughputPerMin"`
	// AttemptsPerMin: calls of Connector.Sync per minute.
	AttemptsPerMin float64 `json:"attemptsPerMin"`
	// ErrorRate: the share of routes that ended failed or dead, 0 to 1.
	ErrorRate float64 `json:"errorRate"`
}

// Counts are the route outcomes since the dispatcher started, those of
// [synclayer.ConnectorStatus]. Failed and Dead are apart: Failed counts
// routes that did not finish and wait for a redelivery, Dead those that
// failed for good. The page shows them in two columns.
type Counts struct {
	Synced    int64 `json:"synced"`
	Duplicate int64 `json:"duplicate"`
	Stale     int64 `json:"stale"`
	Failed    int64 `json:"failed"`
	Dead      int64 `json:"dead"`
	Pending   int64 `json:"pending"`
	Attempts  int64 `json:"attempts"`
	Retries   int64 `json:"retries"`
	InFlight  int64 `json:"inFlight"`
}

// Waiting is what waits in the delivery log now. All three are -1 when
// the log cannot be read.
type Waiting struct {
	// DeadLetters: dead letters and failed deliveries that wait for a
	// replay: those not superseded.
	DeadLetters int `json:"deadLetters"`
	// Superseded: dead letters and failed deliveries whose key a later
	// delivery to the same connector synced; not counted in DeadLetters,
	// and left alone by a bulk replay. This is judged by time, not
	// version: with unversioned records the later sync holds newer
	// content and a replay would push the older content again; with
	// versioned records a superseded letter can hold the newer version,
	// and replaying it by its event is safe (the store refuses it as
	// stale if the partner holds a newer one).
	Superseded int `json:"superseded"`
	// Queued: pending deliveries, waiting for resume or a closing breaker.
	Queued int `json:"queued"`
}

// ConnectorStatus is one connector's state, counts and rates.
type ConnectorStatus struct {
	Name string `json:"name"`
	// State is "running", "paused", "open" (breaker open) or "half_open".
	State  string `json:"state"`
	Paused bool   `json:"paused"`
	// Breaker is "closed", "open" or "half_open" ("closed" without a
	// breaker).
	Breaker string `json:"breaker"`
	Counts
	Waiting
	Rates
}

// Totals sums the counts and rates of all connectors.
type Totals struct {
	Counts
	Waiting
	Rates
}

func countsOf(c synclayer.ConnectorStatus) Counts {
	return Counts{Synced: c.Synced, Duplicate: c.Duplicate, Stale: c.Stale, Failed: c.Failed, Dead: c.Dead,
		Pending: c.Pending, Attempts: c.Attempts, Retries: c.Retries, InFlight: c.InFlight}
}

// status builds the status from the dispatcher's counters and the ledger:
// it reads no more of the log than the deliveries that queued since the
// last call.
func (h *Handler) status(ctx context.Context) Status {
	now := h.now()
	cur := h.d.Status()
	base, span := h.rates.sample(now, cur)
	st := Status{Time: now, WindowSeconds: span.Seconds(), Writes: h.writes, Connectors: make([]ConnectorStatus, len(cur))}
	logOK := h.ledger.refresh(ctx, h.d)
	waiting, capped := h.ledger.waiting()
	var tot, totBase synclayer.ConnectorStatus
	st.Totals.Waiting = Waiting{DeadLetters: -1, Superseded: -1, Queued: -1}
	if logOK {
		st.Totals.Waiting = Waiting{}
		st.WaitingCapped = capped
	}
	for i, c := range cur {
		cs := ConnectorStatus{Name: c.Name, State: "running", Paused: c.Paused, Breaker: c.Breaker.String(), Counts: countsOf(c)}
		switch {
		case c.Paused:
			cs.State = "paused"
		case c.Breaker == synclayer.BreakerOpen:
			cs.State = "open"
		case c.Breaker == synclayer.BreakerHalfOpen:
			cs.State = "half_open"
		}
		if logOK {
			cs.Waiting = waiting[c.Name]
			st.Totals.DeadLetters += cs.DeadLetters
			st.Totals.Superseded += cs.Superseded
			st.Totals.Queued += cs.Queued
		} else {
			cs.Waiting = Waiting{DeadLetters: -1, Superseded: -1, Queued: -1}
		}
		b := base[c.Name]
		cs.Rates = rateOf(c, b, span)
		st.Connectors[i] = cs
		addStatus(&tot, c)
		addStatus(&totBase, b)
	}
	st.Totals.Counts = countsOf(tot)
	st.Totals.Rates = rateOf(tot, totBase, span)
	st.Backlogs = h.queues.status(ctx, now)
	return st
}

func (h *Handler) serveStatus(w http.ResponseWriter, r *http.Request) {
	if err := noQuery(r.URL.RawQuery); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, h.status(r.Context()))
}
