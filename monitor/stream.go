package monitor

import (
	"encoding/json"
	"errors"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/hmsplatform/synclayer"
)

// streamBuffer is how many deliveries a live stream holds for a slow
// client. When it overflows, the stream is ended: the client is too slow
// to follow, and the pushes never wait for it.
const streamBuffer = 512

// serveStream sends Server-Sent Events: "delivery" with each delivery the
// dispatcher records (a [Delivery]), and "status" (the body of api/status)
// at once and every status interval. A client that falls more than
// streamBuffer deliveries behind gets an "overflow" event and the stream
// ends; the browser reconnects and the page reloads the list.
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
	if h.streams.Add(1) > h.maxStreams {
		h.streams.Add(-1)
		writeError(w, http.StatusServiceUnavailable, "monitor: too many live streams")
		return
	}
	defer h.streams.Add(-1)

	rc := http.NewResponseController(w)
	ch := make(chan synclayer.Delivery, streamBuffer)
	lag := make(chan struct{})
	var slow atomic.Bool
	// The callback runs on the push path: it hands the delivery over or,
	// when the buffer is full, marks the stream slow. It never waits.
	stop := h.d.Watch(func(dl synclayer.Delivery) {
		dl.Event = nil
		select {
		case ch <- dl:
		default:
			if slow.CompareAndSwap(false, true) {
				close(lag)
			}
		}
	})
	defer stop()

	hd := w.Header()
	hd.Set("Content-Type", "text/event-stream")
	hd.Set("X-Accel-Buffering", "no")
	if r.ProtoMajor == 1 {
		// The write deadlines stay on an HTTP/1 connection after the
		// stream: never reuse it for another request.
		hd.Set("Connection", "close")
	}
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	tick := time.NewTicker(h.statusEvery)
	defer tick.Stop()
	// Every write has a deadline: a client that stops reading holds the
	// stream for at most the write timeout.
	deadline := func() bool {
		err := rc.SetWriteDeadline(time.Now().Add(h.writeTimeout))
		return err == nil || errors.Is(err, http.ErrNotSupported)
	}
	send := func(event string, v any) bool {
		b, err := json.Marshal(v)
		if err != nil {
			return true
		}
		if !deadline() {
			return false
		}
		_, err = w.Write([]byte("event: " + event + "\ndata: " + string(b) + "\n\n"))
		return err == nil
	}
	if !deadline() {
		return
	}
	if _, err := w.Write([]byte("retry: 2000\n\n")); err != nil {
		return
	}
	if !send("status", h.status(r.Context())) || rc.Flush() != nil {
		return
	}
	for {
		select {
		case <-r.Context().Done():
			return
		case <-h.done:
			return
		case <-lag:
			if send("overflow", struct{}{}) {
				_ = rc.Flush()
			}
			return
		case <-tick.C:
			if !send("status", h.status(r.Context())) {
				return
			}
		case dl := <-ch:
			if slow.Load() {
				// Behind already: what queued is incomplete, end now.
				if send("overflow", struct{}{}) {
					_ = rc.Flush()
				}
				return
			}
			if !send("delivery", toDelivery(dl)) {
				return
			}
			// Send what else queued before flushing once.
			for n := len(ch); n > 0; n-- {
				if !send("delivery", toDelivery(<-ch)) {
					return
				}
			}
		}
		if !deadline() || rc.Flush() != nil {
			return
		}
	}
}
