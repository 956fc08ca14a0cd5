package monitor_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/monitor"
)

// dbSecret is what a database error can carry: a host, a user, SQL.
const dbSecret = `pq: password authentication failed for user "sync_admin" at db-primary.internal:5432 (SELECT * FROM deliveries)`

// brokenLog is a delivery log whose List fails with dbSecret while
// broken is set.
type brokenLog struct {
	*synclayer.MemoryLog
	broken atomic.Bool
}

func (l *brokenLog) List(ctx context.Context, f synclayer.DeliveryFilter) ([]synclayer.Delivery, error) {
	if l.broken.Load() {
		return nil, errors.New(dbSecret)
	}
	return l.MemoryLog.List(ctx, f)
}

// A delivery log that cannot be read answers 503 with a fixed text in the
// usual error shape; the log's own error, which may name the database,
// never reaches the client and goes to the logger of WithLogger.
func TestLogUnavailableHidesCause(t *testing.T) {
	log := &brokenLog{MemoryLog: new(synclayer.MemoryLog)}
	var logged syncBuffer
	r := newRigWith(t, []synclayer.Option{synclayer.WithDeliveryLog(log)},
		monitor.WithWrites(true), monitor.WithLogger(slog.New(slog.NewTextHandler(&logged, nil))))
	r.deadLetters(t, "down", "e1", "WF-1")
	log.broken.Store(true)
	for _, c := range []struct{ method, path string }{
		{http.MethodGet, "api/deliveries"},
		{http.MethodGet, "api/deliveries?cursor=x"}, // refused as a bad query before the log is read
		{http.MethodGet, "api/dead-letters?limit=5"},
		{http.MethodGet, "api/events/e1"},
		{http.MethodGet, "api/replay?all=1"},
		{http.MethodPost, "api/replay?all=1&expect=1"},
	} {
		before := logged.String()
		var code int
		var body string
		if c.method == http.MethodPost {
			code, body = r.post(t, c.path, nil)
		} else {
			code, body = r.get(t, c.path, nil)
		}
		if strings.Contains(body, "db-primary") || strings.Contains(body, "sync_admin") || strings.Contains(body, "SELECT") {
			t.Errorf("%s %s: the log's error reached the client: %d %s", c.method, c.path, code, body)
		}
		if c.path == "api/deliveries?cursor=x" {
			continue
		}
		if want := `{"error":"monitor: the delivery log cannot be read"}`; code != http.StatusServiceUnavailable || strings.TrimSpace(body) != want {
			t.Errorf("%s %s: %d %s, want 503 %s", c.method, c.path, code, body, want)
		}
		if got := strings.TrimPrefix(logged.String(), before); !strings.Contains(got, "sync_admin") || !strings.Contains(got, c.path[:strings.IndexAny(c.path+"?", "?")]) {
			t.Errorf("%s %s: the logger got %q, want the log's error and the path", c.method, c.path, got)
		}
	}
}
