package monitor

import (
	"context"
	"net/http"
	"slices"
	"strconv"

	"github.com/hmsplatform/synclayer"
)

// ReplayPreview is the body of GET api/replay: what a POST with the same
// query would replay.
type ReplayPreview struct {
	// Count is the number of dead letters (and failed deliveries) a bulk
	// replay would push: those matching, up to the limit, that are not
	// superseded. A POST confirms it with expect=Count.
	Count int `json:"count"`
	// Superseded is the number of matching letters a bulk replay skips
	// because a later delivery synced their key (judged by time, not
	// version: see [Waiting]); each can still be replayed by its event.
	Superseded int `json:"superseded"`
	// Limit bounds the letters read; More is set when more match.
	Limit int  `json:"limit"`
	More  bool `json:"more"`
}

// ActionResult is the body of a successful write action.
type ActionResult struct {
	// Results of the pushes the action made (replay, resume), one per
	// delivery.
	Results []ActionPush `json:"results"`
	// Skipped counts the superseded dead letters a bulk replay left alone.
	Skipped int `json:"skipped,omitempty"`
	// Error is set when the action stopped part way: a fixed text that
	// names what failed (the delivery log, the idempotency store, ...);
	// the cause goes to the [WithLogger] logger.
	Error string `json:"error,omitempty"`
}

// ActionPush is the outcome of one push made by a write action.
type ActionPush struct {
	Connector string `json:"connector"`
	Key       string `json:"key,omitempty"`
	Status    string `json:"status"`
	Attempts  int    `json:"attempts"`
	// Error is the push's error: the mapper's or the partner's answer,
	// or a fixed text when the push failed in the idempotency store or
	// the delivery log (the cause goes to the [WithLogger] logger).
	Error string `json:"error,omitempty"`
}

// replaySet lists what a bulk replay of q takes: the matching letters up
// to the limit, oldest first, without the superseded ones.
func (h *Handler) replaySet(ctx context.Context, q replayQuery) (take []synclayer.Delivery, skipped int, more bool, err error) {
	f := q.filter
	f.Limit = q.filter.Limit + 1
	list, err := h.d.DeadLetters(ctx, f)
	if err != nil {
		return nil, 0, false, err
	}
	if len(list) > q.filter.Limit {
		list, more = list[:q.filter.Limit], true
	}
	h.ledger.refresh(ctx, h.d)
	for _, d := range list {
		if h.ledger.superseded(d.EventID, d.Connector) {
			skipped++
			continue
		}
		take = append(take, d)
	}
	slices.Reverse(take)
	return take, skipped, more, nil
}

// checkReplay refuses a replay without a filter (unless all=1).
func checkReplay(w http.ResponseWriter, q replayQuery) bool {
	f := q.filter
	if f.EventID == "" && f.EventType == "" && f.Connector == "" && f.Key == "" && f.Since.IsZero() && !q.all {
		writeError(w, http.StatusBadRequest, "monitor: replay needs a filter (event, connector, type, since) or all=1")
		return false
	}
	return true
}

func (h *Handler) serveReplayPreview(w http.ResponseWriter, r *http.Request) {
	q, err := parseReplay(r.URL.RawQuery)
	if err == nil && q.expect >= 0 {
		err = badQuery("expect is for POST")
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if !checkReplay(w, q) {
		return
	}
	take, skipped, more, err := h.replaySet(r.Context(), q)
	if err != nil {
		h.unavailable(w, r, errLogText, err)
		return
	}
	writeJSON(w, http.StatusOK, ReplayPreview{Count: len(take), Superseded: skipped, Limit: q.filter.Limit, More: more})
}

// serveReplay replays dead letters. With an event id it replays that
// event's letters as asked, superseded or not. Otherwise it is a bulk
// replay: it takes the matching letters up to the limit, leaves the
// superseded ones, and goes ahead only when their count is the expect the
// operator confirmed (409 with the count otherwise). A log that cannot be
// read before the first push answers 503.
func (h *Handler) serveReplay(w http.ResponseWriter, r *http.Request) {
	q, err := parseReplay(r.URL.RawQuery)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if !checkReplay(w, q) {
		return
	}
	if q.filter.EventID != "" {
		letters, err := h.d.DeadLetters(r.Context(), q.filter)
		if err != nil {
			h.unavailable(w, r, errLogText, err)
			return
		}
		slices.Reverse(letters) // oldest first, as a bulk replay
		h.replayLetters(w, r, letters, 0)
		return
	}
	if q.expect < 0 {
		writeError(w, http.StatusBadRequest, "monitor: bulk replay needs expect=N, the count GET api/replay shows for the same query")
		return
	}
	take, skipped, _, err := h.replaySet(r.Context(), q)
	if err != nil {
		h.unavailable(w, r, errLogText, err)
		return
	}
	if len(take) != q.expect {
		writeJSON(w, http.StatusConflict, struct {
			Error string `json:"error"`
			Count int    `json:"count"`
		}{"monitor: " + strconv.Itoa(len(take)) + " dead letters match now, not the " + strconv.Itoa(q.expect) + " confirmed; confirm again", len(take)})
		return
	}
	h.replayLetters(w, r, take, skipped)
}

// replayLetters replays the letters one by one, in order, and answers the
// results; it stops at the first error (of the log, the store, the
// request) with the results so far. skipped is the count of superseded
// letters left alone.
func (h *Handler) replayLetters(w http.ResponseWriter, r *http.Request, letters []synclayer.Delivery, skipped int) {
	var res []synclayer.Result
	var err error
	for _, d := range letters {
		var got []synclayer.Result
		got, err = h.d.Replay(r.Context(), synclayer.DeliveryFilter{EventID: d.EventID, Connector: d.Connector, Limit: 1})
		res = append(res, got...)
		if err == nil {
			err = r.Context().Err()
		}
		if err != nil {
			break
		}
	}
	out := h.actionResult(r, res, err)
	out.Skipped = skipped
	writeJSON(w, http.StatusOK, out)
}
