package synclayer_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/synclayertest"
)

// The default observer writes one record per attempt at debug and one per
// result at info (or warn for failures), with the fields operators filter
// on, and nothing of the payload.
func TestLogObserver(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	reg := synclayer.NewRegistry()
	fake := synclayertest.NewFake()
	fake.Inject(synclayertest.Fault{Err: errors.New("503 Service Unavailable")})
	must(t, reg.Register("records", fake, synclayer.Route("WorkflowDeployed", keyMapper), synclayer.WithRetry(fastRetry)))
	d := synclayer.NewDispatcher(reg, synclayer.WithObserver(synclayer.LogObserver(logger)))
	ev := event("evt-1", "WF-1", 0)
	ev.Data = []byte(`{"version":0,"password":"hunter2"}`)
	if _, err := d.Dispatch(t.Context(), ev); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "hunter2") {
		t.Fatal("the payload reached the log")
	}
	var lines []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, m)
	}
	if len(lines) != 3 {
		t.Fatalf("%d log lines, want 2 attempts and 1 result:\n%s", len(lines), buf.String())
	}
	first, result := lines[0], lines[2]
	if first["level"] != "DEBUG" || first["msg"] != "synclayer: attempt" || first["attempt"] != 1.0 ||
		first["error"] != "503 Service Unavailable" || first["connector"] != "records" || first["key"] != "WF-1" {
		t.Errorf("attempt line = %v", first)
	}
	if result["level"] != "INFO" || result["msg"] != "synclayer: result" || result["status"] != "synced" ||
		result["attempts"] != 2.0 || result["event_id"] != "evt-1" || result["event_type"] != "WorkflowDeployed" {
		t.Errorf("result line = %v", result)
	}
	if synclayer.LogObserver(nil) != nil {
		t.Error("LogObserver(nil) should be nil: nothing to log to")
	}
}
