package monitor_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/monitor"
)

// A dead letter whose key a later delivery synced is superseded: counted
// apart from the dead letters that wait, marked in the lists, and left
// alone by a bulk replay. A monitor started later, from the log alone,
// counts the same.
func TestSupersededDeadLetters(t *testing.T) {
	r := newRig(t, monitor.WithWrites(true))
	r.deadLetters(t, "down", "e1", "WF-1", "e2", "WF-2")
	r.dispatch(t, "e3", "WF-1") // WF-1 syncs: e1's letter is superseded

	check := func(what string, get func(string, any) (int, string)) {
		t.Helper()
		var st monitor.Status
		get("api/status", &st)
		rec := st.Connectors[1]
		if rec.DeadLetters != 1 || rec.Superseded != 1 || st.Totals.DeadLetters != 1 || st.Totals.Superseded != 1 {
			t.Errorf("%s: records %+v, totals %+v, want 1 dead letter and 1 superseded", what, rec.Waiting, st.Totals.Waiting)
		}
		if rec.Dead != 2 && what == "live" {
			t.Errorf("%s: dead count %d, want 2 (since start)", what, rec.Dead)
		}
		var dl monitor.DeadLetterPage
		get("api/dead-letters?connector=records", &dl)
		sup := map[string]bool{}
		for _, d := range dl.DeadLetters {
			sup[d.EventID] = d.Superseded
		}
		if len(sup) != 2 || !sup["e1"] || sup["e2"] {
			t.Errorf("%s: dead letters superseded %v, want e1 only", what, sup)
		}
	}
	check("live", func(p string, v any) (int, string) { return r.get(t, p, v) })
	later := newHandler(t, r.d)
	defer later.Close()
	srv := httptest.NewServer(later)
	defer srv.Close()
	check("from the log", func(p string, v any) (int, string) { return getURL(t, srv, "/"+p, v) })

	var pre monitor.ReplayPreview
	if code, body := r.get(t, "api/replay?connector=records", &pre); code != 200 || pre.Count != 1 || pre.Superseded != 1 || pre.More {
		t.Fatalf("preview: %d %s %+v", code, body, pre)
	}
	var res monitor.ActionResult
	if code, body := r.post(t, "api/replay?connector=records&expect=1", &res); code != 200 {
		t.Fatalf("bulk replay: %d %s", code, body)
	}
	if len(res.Results) != 1 || res.Results[0].Key != "WF-2" || res.Results[0].Status != "synced" || res.Skipped != 1 {
		t.Errorf("bulk replay = %+v, want WF-2 synced and 1 skipped", res)
	}
	if a, b := r.records.written("WF-1"), r.records.written("WF-2"); a != 1 || b != 1 {
		t.Errorf("records wrote WF-1 %d times (want 1: the old version stays out), WF-2 %d times", a, b)
	}
	// The superseded letter can still be replayed by naming its event.
	r.post(t, "api/replay?event=e1&connector=records", &res)
	if len(res.Results) != 1 || res.Results[0].Status != "synced" {
		t.Errorf("replay of e1 by name = %+v", res)
	}
	var st monitor.Status
	r.get(t, "api/status", &st)
	if st.Connectors[1].DeadLetters != 0 || st.Connectors[1].Superseded != 0 {
		t.Errorf("after replays: %+v", st.Connectors[1].Waiting)
	}
}

// Bulk replay: the preview counts, the POST needs the confirmed count,
// refuses a stale one with 409 and the new count, and is bounded by limit.
func TestBulkReplay(t *testing.T) {
	r := newRig(t, monitor.WithWrites(true))
	r.records.fail("down")
	for i := range 5 {
		r.dispatch(t, fmt.Sprintf("e%d", i), fmt.Sprintf("WF-%d", i))
	}
	r.calendar.fail("down")
	r.dispatch(t, "e9", "WF-9") // dead on both: the calendar one is out of the filter
	r.records.fail("")
	r.calendar.fail("")

	var pre monitor.ReplayPreview
	r.get(t, "api/replay?connector=records", &pre)
	if pre.Count != 6 || pre.Limit != monitor.DefaultLimit || pre.More {
		t.Fatalf("preview = %+v, want 6", pre)
	}
	calls := r.records.calls.Load()
	if code, body := r.post(t, "api/replay?connector=records", nil); code != 400 || !strings.Contains(body, "expect") {
		t.Errorf("bulk replay without expect: %d %s", code, body)
	}
	code, body := r.post(t, "api/replay?connector=records&expect=5", nil)
	var conflict struct{ Count int }
	_ = json.Unmarshal([]byte(body), &conflict)
	if code != http.StatusConflict || conflict.Count != 6 {
		t.Errorf("bulk replay with a stale count: %d %s, want 409 with count 6", code, body)
	}
	if r.records.calls.Load() != calls {
		t.Fatal("a refused bulk replay pushed")
	}
	r.get(t, "api/replay?connector=records&limit=2", &pre)
	if pre.Count != 2 || !pre.More {
		t.Errorf("preview with limit 2 = %+v", pre)
	}
	var res monitor.ActionResult
	if code, body := r.post(t, "api/replay?connector=records&limit=2&expect=2", &res); code != 200 || len(res.Results) != 2 {
		t.Fatalf("bounded bulk replay: %d %s", code, body)
	}
	// The newest two, replayed oldest first.
	if res.Results[0].Key != "WF-4" || res.Results[1].Key != "WF-9" {
		t.Errorf("bounded bulk replay pushed %+v, want WF-4 then WF-9", res.Results)
	}
	r.post(t, "api/replay?connector=records&expect=4", &res)
	if len(res.Results) != 4 {
		t.Errorf("the rest: %+v", res)
	}
	for i := range 5 {
		if n := r.records.written(fmt.Sprintf("WF-%d", i)); n != 1 {
			t.Errorf("records wrote WF-%d %d times", i, n)
		}
	}
	if n := r.calendar.written("WF-9"); n != 0 {
		t.Errorf("calendar replayed by a records bulk replay")
	}
	r.get(t, "api/replay?connector=records", &pre)
	if pre.Count != 0 {
		t.Errorf("preview after = %+v", pre)
	}
	if code, body := r.post(t, "api/replay?all=1&expect=1", &res); code != 200 || len(res.Results) != 1 || res.Results[0].Connector != "calendar" {
		t.Errorf("replay all: %d %s", code, body)
	}
}

// The page's connector table shows failed and dead in two columns, each
// the JSON's own count.
func TestFailedAndDeadApart(t *testing.T) {
	r := newRig(t)
	r.records.fail("down")
	r.dispatch(t, "e1", "WF-1")
	var st monitor.Status
	r.get(t, "api/status", &st)
	if c := st.Connectors[1]; c.Failed != 0 || c.Dead != 1 || c.DeadLetters != 1 {
		t.Errorf("records counts %+v", c)
	}
	_, page := r.get(t, "", nil)
	for _, th := range []string{`>Failed</th>`, `>Dead</th>`, `>Dead letters</th>`, `>Superseded</th>`} {
		if !strings.Contains(page, th) {
			t.Errorf("page lacks column %s", th)
		}
	}
	_, js := r.get(t, "assets/app.js", nil)
	if strings.Contains(js, "c.failed + c.dead") || !strings.Contains(js, `el("td", "num", c.failed)`) || !strings.Contains(js, `el("td", "num", c.dead)`) {
		t.Error("app.js does not show failed and dead apart")
	}
}

// Superseded is judged by time: with versioned records, a dead letter of
// the newer version is superseded by a later sync of an older one. It is
// still counted as superseded, but it can be replayed one by one, and the
// store decides: the newer version is pushed, an older one is refused as
// stale and the partner keeps what it holds.
func TestSupersededVersionedReplay(t *testing.T) {
	versioned := synclayer.MapperFunc(func(_ context.Context, ev synclayer.Event) (synclayer.Record, error) {
		return synclayer.Record{Key: ev.Subject, Version: ev.Time.UnixNano(), Payload: map[string]string{"id": ev.ID}}, nil
	})
	r := newRigMapped(t, versioned, nil, monitor.WithWrites(true))
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	dispatch := func(id, key string, at time.Time) {
		r.d.Dispatch(context.Background(), synclayer.Event{ID: id, Type: r.eventType, Subject: key, Time: at, Data: []byte(`{}`)})
	}
	// K1: the newer version goes dead, then an older one syncs.
	r.records.fail("400 bad field")
	dispatch("k1-new", "K1", t0.Add(time.Hour))
	r.records.fail("")
	dispatch("k1-old", "K1", t0)
	// K2: the older version goes dead, then a newer one syncs.
	r.records.fail("400 bad field")
	dispatch("k2-old", "K2", t0)
	r.records.fail("")
	dispatch("k2-new", "K2", t0.Add(time.Hour))

	var st monitor.Status
	r.get(t, "api/status", &st)
	if w := st.Connectors[1].Waiting; w.DeadLetters != 0 || w.Superseded != 2 {
		t.Fatalf("records waiting %+v, want 2 superseded (judged by time)", w)
	}
	for _, c := range []struct {
		event, key, status, holds string
	}{
		{"k1-new", "K1", "synced", "k1-new"}, // the store takes the newer version
		{"k2-old", "K2", "stale", "k2-new"},  // the store refuses the older one
	} {
		var res monitor.ActionResult
		if code, body := r.post(t, "api/replay?event="+c.event+"&connector=records", &res); code != http.StatusOK {
			t.Fatalf("replay %s: %d %s", c.event, code, body)
		}
		if len(res.Results) != 1 || res.Results[0].Status != c.status {
			t.Errorf("replay of superseded %s = %+v, want %s", c.event, res, c.status)
		}
		if got := r.records.lastPayload(c.key); !reflect.DeepEqual(got, map[string]string{"id": c.holds}) {
			t.Errorf("after replaying %s, records holds %v for %s, want %s's", c.event, got, c.key, c.holds)
		}
	}
	r.get(t, "api/status", &st)
	if w := st.Connectors[1].Waiting; w.DeadLetters != 0 || w.Superseded != 0 {
		t.Errorf("after the replays: records waiting %+v, want none", w)
	}
}
