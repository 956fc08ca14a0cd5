package monitor_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/monitor"
	"github.com/hmsplatform/synclayer/synclayertest"
)

// versioned maps an event to the record Subject at the version in its
// data ({"v": n}), so the dispatcher records what each partner holds.
var versioned = synclayer.MapperFunc(func(_ context.Context, ev synclayer.Event) (synclayer.Record, error) {
	var d struct{ V int64 }
	if err := json.Unmarshal(ev.Data, &d); err != nil {
		return synclayer.Record{}, err
	}
	return synclayer.Record{Key: ev.Subject, Version: d.V, Payload: map[string]any{"id": ev.Subject, "v": d.V}}, nil
})

// The freshness view of a real dispatcher: a partner that failed the
// second version of a key is behind on it; the other holds it.
func TestFreshnessEndToEnd(t *testing.T) {
	calendar, records := &partner{}, &partner{}
	reg := new(synclayer.Registry)
	for name, p := range map[string]*partner{"calendar": calendar, "records": records} {
		if err := reg.Register(name, p, synclayer.Route("WorkflowDeployed", versioned)); err != nil {
			t.Fatal(err)
		}
	}
	d := synclayertest.NewDispatcher(t, reg, synclayer.WithObserver(synclayer.NoObserver))
	h := newHandler(t, d)
	srv := httptest.NewServer(h)
	t.Cleanup(func() { h.Close(); srv.Close() })
	get := func(path string, v any) (int, string) {
		t.Helper()
		return send(t, srv.Client(), newRequest(t, http.MethodGet, srv.URL+"/"+path, nil), v)
	}
	dispatch := func(id string, v int) {
		t.Helper()
		_, _ = d.Dispatch(t.Context(), synclayer.Event{ID: id, Type: "WorkflowDeployed", Subject: "WF-1", Data: fmt.Appendf(nil, `{"v":%d}`, v)})
	}
	dispatch("e1", 1)
	records.fail("records down")
	dispatch("e2", 2)

	var fr monitor.Freshness
	if code, body := get("api/freshness", &fr); code != http.StatusOK {
		t.Fatalf("api/freshness: %d %s", code, body)
	}
	byName := map[string]monitor.ConnectorFreshness{}
	for _, c := range fr.Connectors {
		byName[c.Connector] = c
	}
	if len(fr.Connectors) != 2 {
		t.Fatalf("connectors %+v, want calendar and records", fr.Connectors)
	}
	cal, rec := byName["calendar"], byName["records"]
	if cal.Keys != 1 || cal.Behind != 0 || cal.Unverified != 1 || cal.OldestUnverified != "WF-1" || !cal.OldestBehindAt.IsZero() || cal.OldestBehindSeconds != 0 {
		t.Errorf("calendar = %+v, want 1 key, none behind, WF-1 unverified", cal)
	}
	if rec.Keys != 1 || rec.Behind != 1 || rec.OldestBehindAt.IsZero() || rec.OldestBehindAt.After(fr.Time) {
		t.Errorf("records = %+v, want 1 key behind since before %v", rec, fr.Time)
	}
	_, raw := get("api/freshness", nil)
	for _, f := range []string{`"connector":"records"`, `"keys":1`, `"behind":1`, `"unverified":`, `"oldestUnverified":"WF-1"`, `"oldestBehindAt":`, `"oldestBehindSeconds":`} {
		if !strings.Contains(raw, f) {
			t.Errorf("api/freshness body lacks %s: %s", f, raw)
		}
	}

	var hr monitor.Holding
	if code, body := get("api/freshness/records?key=WF-1", &hr); code != http.StatusOK {
		t.Fatalf("records WF-1: %d %s", code, body)
	}
	if hr.Version != 1 || hr.EventID != "e1" || hr.Wanted != 2 || !hr.Behind || hr.WantedAt.IsZero() {
		t.Errorf("records WF-1 = %+v, want version 1 by e1, 2 wanted, behind", hr)
	}
	var hc monitor.Holding
	get("api/freshness/calendar?key=WF-1", &hc)
	if hc.Version != 2 || hc.EventID != "e2" || hc.Wanted != 0 || hc.Behind || len(hc.Hash) != 64 {
		t.Errorf("calendar WF-1 = %+v, want version 2 by e2 with a hash, not behind", hc)
	}
	code, body := get("api/freshness/calendar?key=WF-9", nil)
	if code != http.StatusNotFound || !strings.Contains(body, `no entry of key \"WF-9\" at \"calendar\"`) {
		t.Errorf("absent key: %d %s, want 404 naming the key", code, body)
	}
	code, body = get("api/freshness/nope?key=WF-1", nil)
	if code != http.StatusNotFound || body != `{"error":"monitor: no such connector"}`+"\n" {
		t.Errorf("unknown connector: %d %s, want 404 no such connector", code, body)
	}

	// The partner recovers and the second version gets there.
	records.fail("")
	dispatch("e2", 2)
	hr = monitor.Holding{} // the JSON omits what is zero
	get("api/freshness/records?key=WF-1", &hr)
	if hr.Version != 2 || hr.Wanted != 0 || hr.Behind {
		t.Errorf("records WF-1 after the retry = %+v, want version 2, not behind", hr)
	}

	// A resync of the records partner shows on its row, and only there.
	src := func(yield func(synclayer.Event, error) bool) {
		for i := range 3 {
			if !yield(synclayer.Event{ID: fmt.Sprint("r", i), Type: "WorkflowDeployed", Subject: fmt.Sprint("WF-", i+1), Data: []byte(`{"v":2}`)}, nil) {
				return
			}
		}
	}
	if _, err := d.Resync(t.Context(), src, synclayer.ResyncOptions{Name: "backfill", Connectors: []string{"records"}, Total: 3, Rate: 1e6}); err != nil {
		t.Fatal(err)
	}
	fr = monitor.Freshness{}
	get("api/freshness", &fr)
	for _, c := range fr.Connectors {
		switch p := c.Resync; c.Connector {
		case "records":
			if p == nil || p.Name != "backfill" || !p.Done || p.Total != 3 || p.Events != 3 || p.Pushed != 2 || p.Skipped != 1 {
				t.Errorf("records resync = %+v, want backfill done: 3 of 3 read, 2 pushed, WF-1 skipped", p)
			}
		case "calendar":
			if p != nil {
				t.Errorf("calendar shows a resync it was not part of: %+v", p)
			}
		}
	}
}

// filledRig is a rig whose dispatcher keeps the ledger l.
func filledRig(t *testing.T, l synclayer.Ledger) *rig {
	return newRigWith(t, []synclayer.Option{synclayer.WithLedger(l)})
}

// A walk over a connector's entries with after= and limit= lists each once
// in key order; ages count from the handler's clock.
func TestFreshnessPages(t *testing.T) {
	ctx := t.Context()
	l := new(synclayer.MemoryStore)
	pushed := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for i := range 5 {
		k := fmt.Sprintf("k%02d", 5-i) // written out of order
		if err := l.Pushed(ctx, synclayer.Holding{Connector: "records", Key: k, Version: 3, EventID: "e-" + k, PushedAt: pushed.Add(time.Duration(i) * time.Minute)}); err != nil {
			t.Fatal(err)
		}
	}
	_ = l.Pushed(ctx, synclayer.Holding{Connector: "calendar", Key: "k01", Version: 3, PushedAt: pushed})
	_ = l.Verified(ctx, "records", "k02", pushed.Add(time.Hour), synclayer.DriftMissing)
	_ = l.Want(ctx, "records", "k04", 7)
	k04, _, _ := l.Holding(ctx, "records", "k04")
	r := filledRig(t, l)
	monitor.SetClock(r.h, func() time.Time { return k04.WantedAt.Add(90 * time.Second) })

	var keys []string
	after, pages := "", 0
	for {
		var p monitor.HoldingPage
		if code, body := r.get(t, "api/freshness/records?limit=2&after="+after, &p); code != http.StatusOK {
			t.Fatalf("page after %q: %d %s", after, code, body)
		}
		pages++
		for _, hd := range p.Holdings {
			keys = append(keys, hd.Key)
			if want := hd.Key == "k02" || hd.Key == "k04"; hd.Behind != want {
				t.Errorf("%s behind = %v, want %v (%+v)", hd.Key, hd.Behind, want, hd.Holding)
			}
		}
		if p.Connector != "records" || len(p.Holdings) > 2 {
			t.Fatalf("page %+v", p)
		}
		if p.Next == "" {
			break
		}
		after = p.Next
	}
	if got := strings.Join(keys, " "); got != "k01 k02 k03 k04 k05" || pages != 3 {
		t.Errorf("walk listed %q in %d pages, want k01 … k05 in 3", got, pages)
	}
	_, body := r.get(t, "api/freshness/records?after=k01&limit=1", nil)
	if !strings.Contains(body, `"drift":"missing"`) || !strings.Contains(body, `"next":"k02"`) {
		t.Errorf("page after k01: %s, want k02 with drift missing and next k02", body)
	}
	var p monitor.HoldingPage
	r.get(t, "api/freshness/calendar", &p)
	if len(p.Holdings) != 1 || p.Holdings[0].Key != "k01" || p.Next != "" {
		t.Errorf("calendar's default page = %+v, want k01 alone", p)
	}

	var fr monitor.Freshness
	r.get(t, "api/freshness", &fr)
	rec := fr.Connectors[1]
	// Behind: k04 (wanted 90s ago) and k02 (missing, verified at pushed+1h,
	// long before): the oldest is k02's check.
	if rec.Connector != "records" || rec.Keys != 5 || rec.Behind != 2 || !rec.OldestBehindAt.Equal(pushed.Add(time.Hour)) {
		t.Errorf("records = %+v", rec)
	}
	if want := fr.Time.Sub(pushed.Add(time.Hour)).Seconds(); rec.OldestBehindSeconds != want {
		t.Errorf("oldestBehindSeconds %v, want %v", rec.OldestBehindSeconds, want)
	}
	// Unverified: all but k02, which was checked after its push; the
	// oldest push of those is k05's.
	if rec.Unverified != 4 || rec.OldestUnverified != "k05" || !rec.OldestUnverifiedAt.Equal(pushed) {
		t.Errorf("records unverified = %+v", rec)
	}

	// Only k04 behind: the age is the clock's 90s.
	_ = l.Verified(ctx, "records", "k02", pushed.Add(2*time.Hour), synclayer.InSync)
	fr = monitor.Freshness{}
	r.get(t, "api/freshness", &fr)
	if rec := fr.Connectors[1]; rec.Behind != 1 || rec.OldestBehindSeconds != 90 || !rec.OldestBehindAt.Equal(k04.WantedAt) {
		t.Errorf("records with k04 behind = %+v, want 1 behind for 90s", rec)
	}
}

// TestFreshnessMethodsAndPaths: the freshness API answers a write with
// 405 and a path below records with 404. Its bad queries are rows of
// TestBadFilters.
func TestFreshnessMethodsAndPaths(t *testing.T) {
	r := newRig(t)
	r.dispatch(t, "e1", "WF-1")
	code, body := r.do(t, http.MethodPost, "api/freshness", nil, nil)
	if code != http.StatusMethodNotAllowed {
		t.Errorf("POST api/freshness: %d %s, want 405", code, body)
	}
	code, body = r.get(t, "api/freshness/records/more", nil)
	if code != http.StatusNotFound {
		t.Errorf("api/freshness/records/more: %d %s, want 404", code, body)
	}
}

// A dispatcher without a ledger: every freshness route says so, 501.
func TestFreshnessLedgerOff(t *testing.T) {
	r := newRigWith(t, []synclayer.Option{synclayer.WithLedger(synclayer.NoLedger)})
	r.dispatch(t, "e1", "WF-1")
	for _, path := range []string{"api/freshness", "api/freshness/records?key=WF-1", "api/freshness/records", "api/freshness/nope"} {
		code, body := r.get(t, path, nil)
		var e monitor.Error
		_ = json.Unmarshal([]byte(body), &e)
		if code != http.StatusNotImplemented || !strings.Contains(e.Error, "no freshness ledger") || !strings.Contains(e.Error, "NoLedger") {
			t.Errorf("%s: %d %s, want 501 naming the missing ledger", path, code, body)
		}
	}
}

// brokenLedger is a ledger whose reads fail with a cause that names the
// database.
type brokenLedger struct{ synclayer.MemoryStore }

var errBroken = errors.New("dial tcp db.internal:5432: connection refused")

func (*brokenLedger) Holding(context.Context, string, string) (synclayer.Holding, bool, error) {
	return synclayer.Holding{}, false, errBroken
}
func (*brokenLedger) Holdings(context.Context, string, string, int) ([]synclayer.Holding, error) {
	return nil, errBroken
}
func (*brokenLedger) Summary(context.Context, string) (synclayer.LedgerSummary, error) {
	return synclayer.LedgerSummary{}, errBroken
}

// A ledger that cannot be read: the summary marks each connector (-1 and
// an error), the entries answer 503, and the cause is never sent.
func TestFreshnessLedgerUnavailable(t *testing.T) {
	var logged syncBuffer
	r := newRigWith(t, []synclayer.Option{synclayer.WithLedger(new(brokenLedger))},
		monitor.WithLogger(slog.New(slog.NewTextHandler(&logged, nil))))
	var fr monitor.Freshness
	if code, body := r.get(t, "api/freshness", &fr); code != http.StatusOK {
		t.Fatalf("api/freshness: %d %s", code, body)
	}
	for _, c := range fr.Connectors {
		if c.Keys != -1 || c.Behind != -1 || c.Unverified != -1 || c.Error != "monitor: the freshness ledger cannot be read" {
			t.Errorf("%s = %+v, want -1 counts and the error", c.Connector, c)
		}
	}
	if len(fr.Connectors) != 2 || fr.Connectors[0].Connector != "calendar" {
		t.Errorf("connectors %+v, want calendar and records", fr.Connectors)
	}
	for _, path := range []string{"api/freshness/records?key=WF-1", "api/freshness/records?limit=5"} {
		code, body := r.get(t, path, nil)
		if code != http.StatusServiceUnavailable || strings.Contains(body, "db.internal") {
			t.Errorf("%s: %d %s, want 503 without the cause", path, code, body)
		}
		if !strings.Contains(logged.String(), "db.internal") {
			t.Errorf("%s: the logger did not get the cause: %q", path, logged.String())
		}
	}
	_, body := r.get(t, "api/freshness", nil)
	if strings.Contains(body, "db.internal") {
		t.Errorf("the cause leaked: %s", body)
	}
}

// The dashboard has the freshness section, with its search by key, and
// its script reads the freshness routes.
func TestDashboardFreshnessSection(t *testing.T) {
	r := newRig(t)
	code, page := r.get(t, "", nil)
	if code != http.StatusOK {
		t.Fatalf("page: %d", code)
	}
	for _, s := range []string{`id="freshness-section"`, `<form id="freshness-search"`, `id="freshness-key"`, `<table id="freshness">`, `<table id="holdings">`} {
		if !strings.Contains(page, s) {
			t.Errorf("page lacks %s", s)
		}
	}
	_, js := r.get(t, "assets/app.js", nil)
	for _, s := range []string{`fetch("api/freshness"`, `"api/freshness/" + encodeURIComponent(name) + "?key=" + encodeURIComponent(key)`, "function resyncCell"} {
		if !strings.Contains(js, s) {
			t.Errorf("app.js lacks %s", s)
		}
	}
}
