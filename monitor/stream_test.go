package monitor_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/internal/testwait"
	"github.com/hmsplatform/synclayer/monitor"
)

type sse struct{ event, data string }

// readEvents parses Server-Sent Events from r onto a channel, until r ends.
func readEvents(r *bufio.Reader) <-chan sse {
	ch := make(chan sse, 1024)
	go func() {
		defer close(ch)
		var ev sse
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			line = strings.TrimRight(line, "\n")
			switch {
			case line == "":
				if ev.event != "" {
					ch <- ev
				}
				ev = sse{}
			case strings.HasPrefix(line, "event: "):
				ev.event = line[len("event: "):]
			case strings.HasPrefix(line, "data: "):
				ev.data = line[len("data: "):]
			}
		}
	}()
	return ch
}

func next(t *testing.T, ch <-chan sse, want string) sse {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case ev, ok := <-ch:
			if !ok {
				t.Fatalf("stream ended waiting for %q", want)
			}
			if ev.event == want {
				return ev
			}
		case <-timeout:
			t.Fatalf("no %q event", want)
		}
	}
}

func TestStream(t *testing.T) {
	r := newRig(t, monitor.WithStatusInterval(20*time.Millisecond))
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", r.url("api/stream"), nil)
	res, err := r.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if ct := res.Header.Get("Content-Type"); res.StatusCode != 200 || ct != "text/event-stream" {
		t.Fatalf("stream: %d %s", res.StatusCode, ct)
	}
	if !res.Close {
		t.Error("an HTTP/1 stream's connection is kept for reuse, with its write deadline")
	}
	events := readEvents(bufio.NewReader(res.Body))
	var st monitor.Status
	if err := json.Unmarshal([]byte(next(t, events, "status").data), &st); err != nil || len(st.Connectors) != 2 {
		t.Fatalf("first status: %v %+v", err, st)
	}

	r.records.fail(`<script>alert(1)</script>`)
	r.dispatch(t, "e1", "WF-1")
	states := map[string][]string{}
	for len(states["records"]) < 2 || len(states["calendar"]) < 2 {
		var d monitor.Delivery
		raw := next(t, events, "delivery").data
		if err := json.Unmarshal([]byte(raw), &d); err != nil {
			t.Fatal(err)
		}
		if d.EventID != "e1" || strings.Contains(raw, `"event"`) || !strings.Contains(raw, `"durationMs"`) {
			t.Fatalf("delivery %+v", d)
		}
		states[d.Connector] = append(states[d.Connector], d.State.String())
		if d.Connector == "records" && d.State == synclayer.StatusDead && !strings.Contains(d.Error, "<script>") {
			t.Errorf("dead delivery error = %q", d.Error)
		}
	}
	if got := fmt.Sprint(states); got != "map[calendar:[in_progress synced] records:[in_progress dead]]" {
		t.Errorf("streamed states %s", got)
	}
	// Statuses keep coming and show the counts.
	for {
		var st monitor.Status
		if err := json.Unmarshal([]byte(next(t, events, "status").data), &st); err != nil {
			t.Fatal(err)
		}
		if st.Totals.Dead == 1 && st.Totals.Synced == 1 {
			break
		}
	}
	cancel()
	for range events { // the stream ends when the client goes
	}
}

func TestStreamEndsOnClose(t *testing.T) {
	r := newRig(t)
	res, err := r.srv.Client().Get(r.url("api/stream"))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	events := readEvents(bufio.NewReader(res.Body))
	next(t, events, "status")
	r.h.Close()
	for range events { // ends: the handler returned
	}
	code, body := r.get(t, "api/stream", nil)
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "closed") {
		t.Errorf("stream after Close: %d %s", code, body)
	}
}

// stuckWriter is a ResponseWriter whose writes block, after the first
// two (the retry hint and the first status), until released or until the
// write deadline the handler set passes: a client that stopped reading.
type stuckWriter struct {
	hdr       http.Header
	mu        sync.Mutex
	out       syncBuffer
	writes    int
	deadlines int       // calls of SetWriteDeadline
	deadline  time.Time // zero: none (or deadlines not supported)
	honour    bool      // support SetWriteDeadline
	release   chan struct{}
}

func (w *stuckWriter) Header() http.Header { return w.hdr }
func (w *stuckWriter) WriteHeader(int)     {}
func (w *stuckWriter) Flush()              {}

// SetWriteDeadline is found by http.ResponseController.
func (w *stuckWriter) SetWriteDeadline(t time.Time) error {
	if !w.honour {
		return http.ErrNotSupported
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.deadlines++
	w.deadline = t
	return nil
}

func (w *stuckWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	w.writes++
	n, dl := w.writes, w.deadline
	w.mu.Unlock()
	if n > 2 {
		var expired <-chan time.Time
		if !dl.IsZero() {
			t := time.NewTimer(time.Until(dl))
			defer t.Stop()
			expired = t.C
		}
		select {
		case <-w.release:
		case <-expired:
			return 0, os.ErrDeadlineExceeded
		}
	}
	return w.out.Write(b)
}

func (w *stuckWriter) String() string { return w.out.String() }

// streamTo serves api/stream to w on a goroutine; done closes when the
// handler returns.
func streamTo(t *testing.T, h http.Handler, w http.ResponseWriter) (cancel func(), done <-chan struct{}) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan struct{})
	req := httptest.NewRequestWithContext(ctx, "GET", "/api/stream", nil)
	req.Host = "localhost"
	go func() {
		defer close(ch)
		h.ServeHTTP(w, req)
	}()
	t.Cleanup(func() {
		cancel()
		<-ch
	})
	return cancel, ch
}

// A client that stops reading never slows the pushes: every Watch
// callback returns while the client is stuck (the counter of a second
// watcher sees every delivery), and once the client's buffer overflows,
// its stream is ended rather than kept.
func TestStreamDropsSlowReader(t *testing.T) {
	r := newRig(t, monitor.WithStatusInterval(time.Hour))
	var seen atomic.Int64
	stop := r.d.Watch(func(synclayer.Delivery) { seen.Add(1) })
	defer stop()
	w := &stuckWriter{hdr: http.Header{}, release: make(chan struct{})}
	_, done := streamTo(t, r.h, w)
	testwait.For(t, 10*time.Second, func() string { return "the first status" }, func() bool { return strings.Contains(w.String(), "event: status") })

	const events = 700 // 2 routes x 2 deliveries each: far over the stream's buffer
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		for i := range events {
			r.dispatch(t, fmt.Sprintf("e%d", i), fmt.Sprintf("WF-%d", i))
		}
	}()
	select {
	case <-finished:
	case <-time.After(30 * time.Second):
		t.Fatal("dispatches blocked behind a stalled stream")
	}
	if n := seen.Load(); n != events*4 {
		t.Errorf("watch callbacks ran %d times while the stream was stuck, want %d", n, events*4)
	}
	select {
	case <-done:
		t.Fatal("the stream ended while its write was still blocked")
	default:
	}
	close(w.release)
	<-done // ends by itself: the stream overflowed
	if s := w.String(); !strings.Contains(s, "event: overflow") {
		t.Errorf("stream did not say overflow before ending: %.200q", s)
	}
	// The pushes went on all along: every route synced.
	var st monitor.Status
	r.get(t, "api/status", &st)
	if st.Totals.Synced != events*2 {
		t.Errorf("synced %d, want %d", st.Totals.Synced, events*2)
	}
}

// A client that stops reading holds its stream only until the write
// deadline the handler sets on every write.
func TestStreamWriteDeadline(t *testing.T) {
	r := newRig(t, monitor.WithStatusInterval(5*time.Millisecond), monitor.WithStreamWriteTimeout(50*time.Millisecond))
	w := &stuckWriter{hdr: http.Header{}, release: make(chan struct{}), honour: true}
	start := time.Now()
	_, done := streamTo(t, r.h, w)
	<-done // the third write (a status) blocks until its deadline, then fails
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.deadlines < 3 || w.deadline.Before(start) || w.deadline.After(time.Now().Add(50*time.Millisecond)) {
		t.Errorf("%d deadlines set, the last %v (start %v)", w.deadlines, w.deadline, start)
	}
	if w.writes != 3 {
		t.Errorf("%d writes, want 3 (retry, status, then the stuck one)", w.writes)
	}
}

// The live streams are capped: one over the cap answers 503; when one
// ends, a new one is let in.
func TestStreamCap(t *testing.T) {
	r := newRig(t)
	const max = 64
	cancels := make([]context.CancelFunc, 0, max)
	bodies := make([]io.Closer, 0, max)
	defer func() {
		for i := range cancels {
			cancels[i]()
			bodies[i].Close()
		}
	}()
	for range max {
		ctx, cancel := context.WithCancel(context.Background())
		req, _ := http.NewRequestWithContext(ctx, "GET", r.url("api/stream"), nil)
		res, err := r.client.Do(req)
		if err != nil {
			cancel()
			t.Fatal(err)
		}
		cancels, bodies = append(cancels, cancel), append(bodies, res.Body)
		if res.StatusCode != 200 {
			t.Fatalf("stream %d: %d", len(cancels), res.StatusCode)
		}
		next(t, readEvents(bufio.NewReader(res.Body)), "status")
	}
	code, body := r.get(t, "api/stream", nil)
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "too many live streams") {
		t.Fatalf("stream %d: %d %s, want 503", max+1, code, body)
	}
	cancels[0]()
	bodies[0].Close()
	testwait.For(t, 10*time.Second, func() string { return "a stream slot to free" }, func() bool {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "GET", r.url("api/stream"), nil)
		res, err := r.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		return res.StatusCode == http.StatusOK
	})
}
