package config_test

import (
	"bytes"
	"database/sql"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hmsplatform/synclayer/config"

	_ "modernc.org/sqlite" // the "sqlite" driver, to break the log's table
)

// When the monitor of a built service cannot read the delivery log (here
// a SQLite log whose table was dropped under it), api/deliveries answers
// 503 with fixed text that shows no database detail, and the cause
// reaches the build's logger (config.WithLogger), where an operator finds
// it.
func TestMonitorLogsWhyTheDeliveryLogCannotBeRead(t *testing.T) {
	ctx := t.Context()
	file := filepath.Join(t.TempDir(), "log.db")
	src := fmt.Sprintf("http: {addr: \"127.0.0.1:0\"}\nmonitor: {}\nlog: {kind: sqlite, dsn: %q}\n", file) +
		fmt.Sprintf(recordsConfig, "http://127.0.0.1:1")
	cfg, err := config.Parse("mon.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	svc, err := config.Build(ctx, cfg, config.WithLookupEnv(env), config.WithLogger(slog.New(slog.NewJSONHandler(&logs, nil))))
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close(ctx)

	db, err := sql.Open("sqlite", file)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "DROP TABLE "+config.DefaultLogTable); err != nil {
		t.Fatal(err)
	}

	rec := httptest.NewRecorder()
	svc.Monitor.ServeHTTP(rec, httptest.NewRequest("GET", "http://localhost/api/deliveries", nil))
	const text = "monitor: the delivery log cannot be read"
	if body := strings.TrimSpace(rec.Body.String()); rec.Code != http.StatusServiceUnavailable || body != `{"error":"`+text+`"}` {
		t.Fatalf("api/deliveries: %d %s, want 503 with only %q", rec.Code, body, text)
	}
	var line string
	for l := range strings.Lines(logs.String()) {
		if strings.Contains(l, text) {
			line = l
		}
	}
	if !strings.Contains(line, `"level":"ERROR"`) || !strings.Contains(line, `"path":"/api/deliveries"`) ||
		!strings.Contains(line, "no such table: "+config.DefaultLogTable) {
		t.Errorf("the build's logger did not get the cause; its lines:\n%s", logs.String())
	}
}
