package monitor_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hmsplatform/synclayer"
)

// waitingStatus serves a handler over a log that holds dead dead letters
// and then synced synced deliveries (of other keys) of connector "c", put
// straight into the log, and returns its status as JSON.
func waitingStatus(t *testing.T, dead, synced int) map[string]any {
	t.Helper()
	log := new(synclayer.MemoryLog)
	d := logDispatcher(t, log)
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range dead {
		_ = log.Put(context.Background(), synclayer.Delivery{EventID: fmt.Sprintf("e%05d", i), Connector: "c", Key: fmt.Sprintf("k%05d", i),
			State: synclayer.StatusDead, Updated: at.Add(time.Duration(i) * time.Millisecond)})
	}
	at = at.Add(time.Hour)
	for i := range synced {
		_ = log.Put(context.Background(), synclayer.Delivery{EventID: fmt.Sprintf("s%05d", i), Connector: "c", Key: fmt.Sprintf("s%05d", i),
			State: synclayer.StatusSynced, Updated: at.Add(time.Duration(i) * time.Millisecond)})
	}
	h := newHandler(t, d)
	t.Cleanup(func() { h.Close() })
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	code, body := getURL(t, srv, "/api/status", nil)
	if code != http.StatusOK {
		t.Fatalf("api/status: %d %s", code, body)
	}
	var st map[string]any
	if err := json.Unmarshal([]byte(body), &st); err != nil {
		t.Fatal(err)
	}
	return st
}

// The counts of what waits come from the newest 10,000 dead, failed and
// pending entries the log held when the monitor started (and the newest
// 10,000 synced ones, to judge which letters are superseded). With more
// dead, failed and pending ones, the status says so (waitingCapped), since
// the counts are then lower bounds; with fewer, it does not, however many
// synced entries the log holds: the waiting counts are then exact (only
// the split between superseded letters and dead letters may be off).
func TestWaitingCapped(t *testing.T) {
	for _, c := range []struct {
		dead, synced int
		capped       bool
	}{
		{10, 0, false},
		{9_999, 0, false},
		{10_050, 0, true},
		{0, 10_050, false},
		{10, 10_050, false},
		{10_050, 10_050, true},
	} {
		st := waitingStatus(t, c.dead, c.synced)
		dl := st["totals"].(map[string]any)["deadLetters"].(float64)
		if capped, _ := st["waitingCapped"].(bool); capped != c.capped {
			t.Errorf("%d dead letters, %d synced: waitingCapped %v (deadLetters %v), want %v", c.dead, c.synced, st["waitingCapped"], dl, c.capped)
		}
		if want := float64(min(c.dead, 10_000)); dl != want {
			t.Errorf("%d dead letters, %d synced: deadLetters %v, want %v", c.dead, c.synced, dl, want)
		}
	}
}

// The page marks the counts of what waits as lower bounds when the status
// says they are.
func TestDashboardWaitingCapped(t *testing.T) {
	r := newRig(t)
	_, js := r.get(t, "assets/app.js", nil)
	if !strings.Contains(js, `(st.waitingCapped ? "≥ " : "")`) || !strings.Contains(js, "these counts are lower bounds") {
		t.Error("app.js does not mark capped counts")
	}
}
