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
	"github.com/hmsplatform/synclayer/idempotency"
	"github.com/hmsplatform/synclayer/monitor"
)

// dbSecret is what a database error can carry: a host, a user, SQL.
const dbSecret = `pq: password authentication failed for user "sync_admin" at db-primary.internal:5432 (SELECT * FROM deliveries)`

// brokenLog is a delivery log whose List fails with dbSecret while
// broken is set, but for the next passes lists.
type brokenLog struct {
	*synclayer.MemoryLog
	broken atomic.Bool
	passes atomic.Int64
}

func (l *brokenLog) List(ctx context.Context, f synclayer.DeliveryFilter) ([]synclayer.Delivery, error) {
	if l.broken.Load() && l.passes.Add(-1) < 0 {
		return nil, errors.New(dbSecret)
	}
	return l.MemoryLog.List(ctx, f)
}

// brokenStore is an idempotency store whose Claim fails with dbSecret
// while broken is set.
type brokenStore struct {
	synclayer.Store
	broken atomic.Bool
}

func (s *brokenStore) Claim(ctx context.Context, c idempotency.Claim) (idempotency.ClaimResult, error) {
	if s.broken.Load() {
		return idempotency.ClaimResult{}, errors.New(dbSecret)
	}
	return s.Store.Claim(ctx, c)
}

// leaked reports whether body carries any part of dbSecret.
func leaked(body string) bool {
	return strings.Contains(body, "db-primary") || strings.Contains(body, "sync_admin") || strings.Contains(body, "SELECT")
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
		{http.MethodPost, "api/replay?event=e1"},
	} {
		before := logged.String()
		var code int
		var body string
		if c.method == http.MethodPost {
			code, body = r.post(t, c.path, nil)
		} else {
			code, body = r.get(t, c.path, nil)
		}
		if leaked(body) {
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

// A write action that started and then stopped because the delivery log
// could not be read answers 200 with what it did and a fixed error text;
// the log's error goes to the logger only. Resume lets the connector go
// before it reads its queue, so even a resume that pushed nothing
// answers so.
func TestWriteActionHidesLogError(t *testing.T) {
	log := &brokenLog{MemoryLog: new(synclayer.MemoryLog)}
	r, logged := writesLogged(t, synclayer.WithDeliveryLog(log))
	r.get(t, "api/status", nil)
	const stopped = "monitor: stopped: the delivery log cannot be read"

	// The bulk replay lists its two letters, replays e1 (listing it), and
	// then cannot list e2.
	log.passes.Store(2)
	log.broken.Store(true)
	before := logged.String()
	var res monitor.ActionResult
	code, body := r.post(t, "api/replay?connector=records&expect=2", &res)
	if leaked(body) || code != http.StatusOK || res.Error != stopped || len(res.Results) != 1 || res.Results[0].Key != "WF-1" || res.Results[0].Status != "synced" {
		t.Errorf("bulk replay, the log failing after the first letter: %d %s, want 200 with WF-1 synced and %q", code, body, stopped)
	}
	if got := strings.TrimPrefix(logged.String(), before); !strings.Contains(got, "sync_admin") || !strings.Contains(got, "api/replay") {
		t.Errorf("bulk replay: the logger got %q, want the log's error and the path", got)
	}
	if r.records.written("WF-1") != 1 || r.records.written("WF-2") != 0 {
		t.Errorf("records written WF-1 %d, WF-2 %d times, want 1 and 0", r.records.written("WF-1"), r.records.written("WF-2"))
	}

	log.broken.Store(false)
	if code, body := r.post(t, "api/connectors/records/pause", nil); code != http.StatusOK {
		t.Fatalf("pause: %d %s", code, body)
	}
	log.broken.Store(true)
	before = logged.String()
	res = monitor.ActionResult{}
	code, body = r.post(t, "api/connectors/records/resume", &res)
	if leaked(body) || code != http.StatusOK || res.Error != stopped || len(res.Results) != 0 {
		t.Errorf("resume over a log that cannot be read: %d %s, want 200 with %q", code, body, stopped)
	}
	if got := strings.TrimPrefix(logged.String(), before); !strings.Contains(got, "sync_admin") || !strings.Contains(got, "resume") {
		t.Errorf("resume: the logger got %q, want the log's error and the path", got)
	}
}

// A push of a write action that failed in the idempotency store shows a
// fixed text in its result, and the store's error goes to the logger
// only; a push the partner refused shows the partner's answer.
func TestActionPushHidesStoreError(t *testing.T) {
	store := &brokenStore{Store: new(synclayer.MemoryStore)}
	r, logged := writesLogged(t, synclayer.WithStore(store))

	store.broken.Store(true)
	var res monitor.ActionResult
	code, body := r.post(t, "api/replay?event=e1", &res)
	const want = "monitor: the idempotency store failed"
	if leaked(body) || code != http.StatusOK || len(res.Results) != 1 || res.Results[0].Status != "failed" || res.Results[0].Error != want || res.Error != "" {
		t.Errorf("replay over a failing store: %d %s, want 200 with one failed push saying %q", code, body, want)
	}
	if got := logged.String(); !strings.Contains(got, "sync_admin") || !strings.Contains(got, "WF-1") {
		t.Errorf("the logger got %q, want the store's error and the key", got)
	}

	store.broken.Store(false)
	r.records.fail("partner says: <WF-2> is locked")
	res = monitor.ActionResult{}
	code, body = r.post(t, "api/replay?event=e2", &res)
	if code != http.StatusOK || len(res.Results) != 1 || !strings.Contains(res.Results[0].Error, "partner says: <WF-2> is locked") {
		t.Errorf("replay the partner refuses: %d %s, want the partner's answer in the push's error", code, body)
	}
}

// writesLogged is a rig with writes on, the dispatcher option dopt, a
// logger writing to the returned buffer, and two dead letters of
// "records": e1 (WF-1) and e2 (WF-2).
func writesLogged(t *testing.T, dopt synclayer.Option) (*rig, *syncBuffer) {
	t.Helper()
	logged := new(syncBuffer)
	r := newRigWith(t, []synclayer.Option{dopt},
		monitor.WithWrites(true), monitor.WithLogger(slog.New(slog.NewTextHandler(logged, nil))))
	r.deadLetters(t, "down", "e1", "WF-1", "e2", "WF-2")
	return r, logged
}

// completeBrokenStore is an idempotency store whose Complete fails with
// what a database driver can say: a host, a user.
type completeBrokenStore struct{ synclayer.Store }

// driverSecret is the text completeBrokenStore fails with.
const driverSecret = "dial tcp 10.1.2.3:5432: password authentication failed for user x"

func (completeBrokenStore) Complete(context.Context, idempotency.Claim, string) error {
	return errors.New(driverSecret)
}

// A push the partner took but the idempotency store could not record is
// listed as failed with a fixed text for the store's part: the store's
// own error, which can name a database host or a user, shows in none of
// the delivery list, the dead letters or the event's detail.
func TestDeliveryListHidesStoreError(t *testing.T) {
	r := newRigWith(t, []synclayer.Option{synclayer.WithStore(completeBrokenStore{new(synclayer.MemoryStore)})})
	rep := r.dispatch(t, "e1", "WF-1")
	if err := rep.Err(); err == nil || !strings.Contains(err.Error(), driverSecret) || !errors.Is(err, synclayer.ErrStore) {
		t.Fatalf("dispatch: %v, want the store's error, wrapping ErrStore", err)
	}
	const want = "idempotency store failed: pushed, but could not record it"
	for _, path := range []string{"api/deliveries?event=e1", "api/dead-letters", "api/events/e1"} {
		code, body := r.get(t, path, nil)
		if code != http.StatusOK || strings.Contains(body, "10.1.2.3") || strings.Contains(body, "password") || !strings.Contains(body, want) {
			t.Errorf("GET %s: %d %s, want 200 with %q and no part of the store's error", path, code, body, want)
		}
	}
}
