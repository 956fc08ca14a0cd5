package synclayer_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/synclayertest"
)

// The default observer writes one record per attempt and per result at
// debug (or warn for failures), with the fields operators filter on, and
// nothing of the payload.
func TestLogObserver(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	reg := new(synclayer.Registry)
	fake := synclayertest.NewFake()
	fake.Inject(synclayertest.Fault{Err: errors.New("503 Service Unavailable")})
	must(t, reg.Register("records", fake, synclayer.Route("WorkflowDeployed", keyMapper), synclayer.WithRetry(fastRetry)))
	d := synclayertest.NewDispatcher(t, reg, synclayer.WithObserver(synclayer.LogObserver(logger)))
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
	if result["level"] != "DEBUG" || result["msg"] != "synclayer: result" || result["status"] != "synced" ||
		result["attempts"] != 2.0 || result["event_id"] != "evt-1" || result["event_type"] != "WorkflowDeployed" {
		t.Errorf("result line = %v", result)
	}
	if synclayer.LogObserver(nil) != nil {
		t.Error("LogObserver(nil) should be nil: nothing to log to")
	}
}

// At the default Info level a successful route writes nothing, and a
// failed one writes one Warn line; a panic's value goes to that line only.
func TestLogObserverQuietOnSuccess(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&buf, nil))
	reg := new(synclayer.Registry)
	must(t, reg.Register("records", synclayertest.NewFake(), synclayer.Route("WorkflowDeployed", keyMapper)))
	must(t, reg.Register("crashy", synclayer.ConnectorFunc(func(context.Context, synclayer.Record) error { panic("secret-ish value") }),
		synclayer.Route("WorkflowDeployed", keyMapper)))
	d := synclayertest.NewDispatcher(t, reg, synclayer.WithObserver(synclayer.LogObserver(logger)))
	rep, _ := d.Dispatch(t.Context(), event("evt-1", "WF-1", 0))
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("%d log lines, want only the failure's:\n%s", len(lines), buf.String())
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &m); err != nil {
		t.Fatal(err)
	}
	if m["level"] != "WARN" || m["connector"] != "crashy" || m["panic"] != "secret-ish value" {
		t.Errorf("failure line = %v", m)
	}
	if strings.Contains(rep.Results[1].Err.Error(), "secret-ish") {
		t.Errorf("the panic's value reached the error text: %v", rep.Results[1].Err)
	}
}

// orderObserver notes its name in a shared list for every result.
type orderObserver struct {
	name string
	seen *[]string
}

func (orderObserver) ObserveAttempt(context.Context, synclayer.Attempt) {}
func (o orderObserver) ObserveResult(context.Context, synclayer.Event, synclayer.Result) {
	*o.seen = append(*o.seen, o.name)
}

// TestWithObserverTakesSeveral: the observers hear each result in the order
// given; nil entries are skipped, and NoObserver beside others adds nothing.
func TestWithObserverTakesSeveral(t *testing.T) {
	reg := new(synclayer.Registry)
	must(t, reg.Register("p", synclayertest.NewFake(), synclayer.Route("WorkflowDeployed", keyMapper)))
	var seen []string
	a, b := orderObserver{"a", &seen}, orderObserver{"b", &seen}
	d := synclayertest.NewDispatcher(t, reg, synclayer.WithObserver(synclayer.NoObserver, a, nil, b))
	if _, err := d.Dispatch(t.Context(), event("e1", "K1", 1)); err != nil {
		t.Fatal(err)
	}
	if strings.Join(seen, ",") != "a,b" {
		t.Fatalf("observers heard the result as %v; want a then b", seen)
	}
}
