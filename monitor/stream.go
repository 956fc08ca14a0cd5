package monitor

import (
	"encoding/json"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/hmsplatform/synclayer"
)

// streamBuffer is how many deliveries a live stream holds for a slow
// client; more are dropped (and counted) rather than slowing the pushes.
const streamBuffer = 512

// serveStream sends Server-Sent Events: "delivery" with each delivery the
// dispatcher records (its JSON, without the source event), and "status"
// (the body of api/status plus the count of deliveries dropped for this
// client) at once and every status interval.
func (h *Handler) serveStream(w http.ResponseWriter, r *http.Request) {
	if err := noQuery(r.URL.RawQuery); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	select {
	case <-h.done:
		writeError(w, http.StatusServiceUnavailable, "monitor: closed")
		return
	default:
	}
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Time{}) // a stream outlives the server's write timeout
	ch := make(chan synclayer.Delivery, streamBuffer)
	var dropped atomic.Int64
	stop := h.d.Watch(func(dl synclayer.Delivery) {
		select {
		case ch <- dl:
		default:
			dropped.Add(1)
		}
	})
	defer stop()

	hd := w.Header()
	hd.Set("Content-Type", "text/event-stream")
	hd.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	tick := time.NewTicker(h.statusEvery)
	defer tick.Stop()
	send := func(event string, v any) bool {
		b, err := json.Marshal(v)
		if err != nil {
			return true
		}
		if _, err := w.Write([]byte("event: " + event + "\ndata: ")); err != nil {
			return false
		}
		if _, err := w.Write(b); err != nil {
			return false
		}
		if _, err := w.Write([]byte("\n\n")); err != nil {
			return false
		}
		return true
	}
	status := func() bool {
		return send("status", streamStatus{Status: h.status(r.Context()), Dropped: dropped.Load()})
	}
	if !status() || rc.Flush() != nil {
		return
	}
	for {
		select {
		case <-r.Context().Done():
			return
		case <-h.done:
			return
		case <-tick.C:
			if !status() {
				return
			}
		case dl := <-ch:
			dl.Event = nil
			if !send("delivery", dl) {
				return
			}
			// Send what else queued before flushing once.
			for n := len(ch); n > 0; n-- {
				dl := <-ch
				dl.Event = nil
				if !send("delivery", dl) {
					return
				}
			}
		}
		if rc.Flush() != nil {
			return
		}
	}
}

// streamStatus is the data of a "status" event.
type streamStatus struct {
	Status
	// Dropped counts deliveries not sent to this client because it was too
	// slow; when it grows, the page reloads the list.
	Dropped int64 `json:"dropped"`
}
