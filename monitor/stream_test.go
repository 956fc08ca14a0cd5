package monitor_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hmsplatform/synclayer"
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
	events := readEvents(bufio.NewReader(res.Body))
	var st monitor.Status
	if err := json.Unmarshal([]byte(next(t, events, "status").data), &st); err != nil || len(st.Connectors) != 2 {
		t.Fatalf("first status: %v %+v", err, st)
	}

	r.records.fail(`<script>alert(1)</script>`)
	r.dispatch(t, "e1", "WF-1")
	states := map[string][]string{}
	for len(states["records"]) < 2 || len(states["calendar"]) < 2 {
		var d synclayer.Delivery
		if err := json.Unmarshal([]byte(next(t, events, "delivery").data), &d); err != nil {
			t.Fatal(err)
		}
		if d.EventID != "e1" || d.Event != nil {
			t.Fatalf("delivery %+v", d)
		}
		states[d.Connector] = append(states[d.Connector], d.State.String())
		if d.Connector == "records" && d.State == synclayer.StateDead && !strings.Contains(d.Error, "<script>") {
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

// stuckWriter is a ResponseWriter whose writes block until released, as
// a client that stopped reading.
type stuckWriter struct {
	hdr     http.Header
	mu      sync.Mutex
	buf     strings.Builder
	writes  int
	release chan struct{}
}

func (w *stuckWriter) Header() http.Header { return w.hdr }
func (w *stuckWriter) WriteHeader(int)     {}
func (w *stuckWriter) Flush()              {}
func (w *stuckWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	w.writes++
	n := w.writes
	w.mu.Unlock()
	if n > 3 { // the first status event goes through, then the client stalls
		<-w.release
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(b)
}

func (w *stuckWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// A client that stops reading never slows the pushes: its deliveries are
// dropped, and counted in the next status.
func TestStreamNeverBlocksPushes(t *testing.T) {
	r := newRig(t, monitor.WithStatusInterval(10*time.Millisecond))
	w := &stuckWriter{hdr: http.Header{}, release: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.h.ServeHTTP(w, httptest.NewRequestWithContext(ctx, "GET", "/api/stream", nil))
	}()
	waitFor(t, "the first status", func() bool { return strings.Contains(w.String(), "event: status") })

	finished := make(chan struct{})
	go func() {
		defer close(finished)
		for i := range 700 { // 2 routes x 2 records each: far over the stream's buffer
			r.dispatch(t, fmt.Sprintf("e%d", i), fmt.Sprintf("WF-%d", i))
		}
	}()
	select {
	case <-finished:
	case <-time.After(30 * time.Second):
		t.Fatal("dispatches blocked behind a stalled stream")
	}
	close(w.release)
	waitFor(t, "a status with dropped deliveries", func() bool {
		s := w.String()
		i := strings.LastIndex(s, `"dropped":`)
		return i >= 0 && !strings.HasPrefix(s[i:], `"dropped":0`)
	})
	cancel()
	<-done
}
