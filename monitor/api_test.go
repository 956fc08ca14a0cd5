package monitor_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/monitor"
	"github.com/hmsplatform/synclayer/synclayertest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type deliveries = monitor.DeliveryPage

func TestStatus(t *testing.T) {
	r := newRig(t)
	r.dispatch(t, "e1", "WF-1")
	r.records.fail("partner said no")
	r.dispatch(t, "e2", "WF-2")
	r.dispatch(t, "e1", "WF-1") // duplicate on both

	var st monitor.Status
	if code, body := r.get(t, "api/status", &st); code != http.StatusOK {
		t.Fatalf("status: %d %s", code, body)
	}
	if len(st.Connectors) != 2 || st.Connectors[0].Name != "calendar" || st.Connectors[1].Name != "records" {
		t.Fatalf("connectors = %+v", st.Connectors)
	}
	cal, rec := st.Connectors[0], st.Connectors[1]
	if cal.Synced != 2 || cal.Duplicate != 1 || cal.Dead != 0 || cal.State != "running" || cal.Breaker != "closed" {
		t.Errorf("calendar = %+v", cal)
	}
	if rec.Synced != 1 || rec.Duplicate != 1 || rec.Dead != 1 || rec.Attempts != 2 {
		t.Errorf("records = %+v", rec)
	}
	if st.Totals.Synced != 3 || st.Totals.Dead != 1 || st.Totals.Duplicate != 2 {
		t.Errorf("totals = %+v", st.Totals)
	}
	if st.Totals.DeadLetters != 1 || rec.DeadLetters != 1 || cal.DeadLetters != 0 || st.Totals.Queued != 0 {
		t.Errorf("waiting: totals %+v, records %+v, calendar %+v", st.Totals.Waiting, rec.Waiting, cal.Waiting)
	}
	if st.Writes {
		t.Error("writes reported enabled by default")
	}
	// The raw JSON names the fields the dashboard reads.
	_, body := r.get(t, "api/status", nil)
	for _, f := range []string{`"windowSeconds"`, `"throughputPerMin"`, `"errorRate"`, `"breaker":"closed"`, `"state":"running"`, `"inFlight"`} {
		if !strings.Contains(body, f) {
			t.Errorf("status body lacks %s: %s", f, body)
		}
	}
}

func TestDeliveriesFilters(t *testing.T) {
	r := newRig(t)
	r.dispatch(t, "e1", "WF-1")
	r.records.fail("boom")
	r.dispatch(t, "e2", "WF-2")
	r.dispatch(t, "e3", "WF-3")
	future := url.QueryEscape(time.Now().Add(time.Hour).Format(time.RFC3339))

	for _, c := range []struct {
		query string
		want  []string // eventId/connector/state, newest first
	}{
		{"connector=records&state=dead", []string{"e3/records/dead", "e2/records/dead"}},
		{"state=dead,synced&key=WF-2&connector=records", []string{"e2/records/dead"}},
		{"state=dead&state=synced&key=WF-2&connector=calendar", []string{"e2/calendar/synced"}},
		{"state=stale,duplicate", nil},
		{"event=e1&connector=calendar", []string{"e1/calendar/synced"}},
		{"type=WorkflowDeployed&connector=records&limit=1", []string{"e3/records/dead"}},
		{"type=Other", nil},
		{"since=1h&connector=calendar", []string{"e3/calendar/synced", "e2/calendar/synced", "e1/calendar/synced"}},
		{"since=" + future, nil},
	} {
		t.Run(c.query, func(t *testing.T) {
			var got deliveries
			if code, body := r.get(t, "api/deliveries?"+c.query, &got); code != http.StatusOK {
				t.Fatalf("%d %s", code, body)
			}
			var ids []string
			for _, d := range got.Deliveries {
				ids = append(ids, d.EventID+"/"+d.Connector+"/"+d.State.String())
			}
			if strings.Join(ids, " ") != strings.Join(c.want, " ") {
				t.Errorf("got %v, want %v", ids, c.want)
			}
		})
	}
	var got deliveries
	r.get(t, "api/deliveries?event=e2&connector=records", &got)
	if d := got.Deliveries[0]; d.Error == "" || !strings.Contains(d.Error, "boom") || d.Attempts != 1 || d.Key != "WF-2" {
		t.Errorf("dead delivery = %+v", d)
	}
}

// TestBadFilters: every bad query of the API, the freshness routes
// included, is a 400 whose JSON error starts "monitor: bad query: " and
// says what is wrong.
func TestBadFilters(t *testing.T) {
	r := newRig(t)
	for _, c := range []struct{ path, want string }{
		{"api/deliveries?state=bogus", `unknown state \"bogus\"`},
		{"api/deliveries?limit=0", "limit"},
		{"api/deliveries?limit=1001", "limit"},
		{"api/deliveries?cursor=abc", "cursor"},
		{"api/replay?connector=x&expect=-1", "expect"},
		{"api/replay?connector=x&expect=1", "expect is for POST"},
		{"api/replay?connector=x&cursor=abc", "unknown parameter"},
		{"api/backlogs?x=1", "unknown parameter"},
		{"api/deliveries?limit=ten", "limit"},
		{"api/deliveries?since=yesterday", "since"},
		{"api/deliveries?since=-5m", "since"},
		{"api/deliveries?colour=red", `unknown parameter \"colour\"`},
		{"api/deliveries?key=a&key=b", "given 2 times"},
		{"api/deliveries?key=%ZZ", "malformed query"},
		{"api/deliveries?key=a%00b", "control character"},
		{"api/deliveries?key=%FF", "UTF-8"},
		{"api/deliveries?key=" + strings.Repeat("k", 1025), "over the limit"},
		{"api/dead-letters?state=dead", "unknown parameter"},
		{"api/status?x=1", "unknown parameter"},
		{"api/freshness/records?limit=0", "limit"},
		{"api/freshness/records?limit=1001", "limit"},
		{"api/freshness/records?limit=ten", "limit"},
		{"api/freshness/records?key=WF-1&limit=5", "takes neither after nor limit"},
		{"api/freshness/records?key=WF-1&after=a", "takes neither after nor limit"},
		{"api/freshness/records?key=", "key is empty"},
		{"api/freshness/records?key=a%00b", "control character"},
		{"api/freshness/records?after=a&after=b", "given 2 times"},
		{"api/freshness/records?colour=red", `unknown parameter \"colour\"`},
		{"api/freshness?connector=records", "unknown parameter"},
	} {
		t.Run(c.path, func(t *testing.T) {
			code, body := r.get(t, c.path, nil)
			if code != http.StatusBadRequest {
				t.Fatalf("code %d, want 400: %s", code, body)
			}
			var e monitor.Error
			if err := json.Unmarshal([]byte(body), &e); err != nil {
				t.Fatalf("body %q is not a JSON error: %v", body, err)
			}
			if !strings.HasPrefix(e.Error, "monitor: bad query: ") || !strings.Contains(body, c.want) {
				t.Errorf("error %q, want it to contain %q", e.Error, c.want)
			}
		})
	}
}

func TestNotFound(t *testing.T) {
	r := newRig(t, monitor.WithWrites(true))
	r.dispatch(t, "e1", "WF-1")
	for _, c := range []struct{ method, path string }{
		{"GET", "nope"},
		{"GET", "api"},
		{"GET", "api/nope"},
		{"GET", "api/status/extra"},
		{"GET", "api/events/unknown"},
		{"GET", "api/events/%2e%2e"},
		{"GET", "api/events/"},
		{"GET", "api/events/a%00b"},
		{"GET", "api/events/" + strings.Repeat("x", 2000)},
		{"GET", "api/events/e1/more"},
		{"GET", "assets/other.js"},
		{"GET", "assets/../index.html"},
		{"POST", "api/connectors/nope/pause"},
		{"POST", "api/connectors/calendar/explode"},
	} {
		t.Run(c.method+" "+c.path, func(t *testing.T) {
			code, body := r.do(t, c.method, c.path, http.Header{monitor.TokenHeader: {r.token(t)}}, nil)
			if code != http.StatusNotFound {
				t.Fatalf("code %d, want 404: %s", code, body)
			}
			var e monitor.Error
			if err := json.Unmarshal([]byte(body), &e); err != nil || !strings.HasPrefix(e.Error, "monitor: ") {
				t.Errorf("body %q is not a monitor JSON error (%v)", body, err)
			}
		})
	}
}

func TestEventOutcome(t *testing.T) {
	r := newRig(t)
	r.records.fail("records down")
	r.dispatch(t, "evt/1 ü", "WF-1") // an id that needs escaping in the path
	var got monitor.EventOutcome
	code, body := r.get(t, "api/events/"+url.PathEscape("evt/1 ü"), &got)
	if code != http.StatusOK {
		t.Fatalf("%d %s", code, body)
	}
	states := map[string]synclayer.Status{}
	for _, d := range got.Deliveries {
		states[d.Connector] = d.State
	}
	if got.EventID != "evt/1 ü" || got.EventType != "WorkflowDeployed" || len(states) != 2 ||
		states["calendar"] != synclayer.StatusSynced || states["records"] != synclayer.StatusDead {
		t.Errorf("outcome = %+v", got)
	}
}

func TestDeadLetters(t *testing.T) {
	r := newRig(t)
	r.records.fail("no")
	r.dispatch(t, "e1", "WF-1")
	r.dispatch(t, "e2", "WF-2")
	var got monitor.DeadLetterPage
	if code, body := r.get(t, "api/dead-letters?connector=records&limit=5", &got); code != http.StatusOK {
		t.Fatalf("%d %s", code, body)
	}
	if len(got.DeadLetters) != 2 || got.DeadLetters[0].EventID != "e2" || got.DeadLetters[1].EventID != "e1" {
		t.Errorf("dead letters = %+v", got.DeadLetters)
	}
	r.get(t, "api/dead-letters?connector=calendar", &got)
	if len(got.DeadLetters) != 0 {
		t.Errorf("calendar dead letters = %+v", got.DeadLetters)
	}
}

func TestWritesDisabled(t *testing.T) {
	r := newRig(t)
	r.records.fail("no")
	r.dispatch(t, "e1", "WF-1")
	for _, p := range []string{"api/replay?all=1&expect=1", "api/connectors/records/pause", "api/connectors/records/resume"} {
		code, body := r.do(t, http.MethodPost, p, http.Header{monitor.TokenHeader: {"x"}}, nil)
		if code != http.StatusForbidden || !strings.Contains(body, "write actions are disabled") {
			t.Errorf("POST %s: %d %s, want 403", p, code, body)
		}
	}
	if n := r.records.calls.Load(); n != 1 {
		t.Errorf("records called %d times, want 1 (no replay)", n)
	}
}

func TestWriteChecks(t *testing.T) {
	r := newRig(t, monitor.WithWrites(true))
	r.records.fail("no")
	r.dispatch(t, "e1", "WF-1")
	tok := r.token(t)
	for _, c := range []struct {
		name   string
		method string
		hdr    http.Header
		code   int
		want   string
	}{
		{"PUT", "PUT", http.Header{monitor.TokenHeader: {tok}}, 405, "use POST"},
		{"no token", "POST", nil, 403, "missing or invalid"},
		{"forged token", "POST", http.Header{monitor.TokenHeader: {strings.Repeat("A", len(tok))}}, 403, "missing or invalid"},
		{"short token", "POST", http.Header{monitor.TokenHeader: {"abc"}}, 403, "missing or invalid"},
		{"cross-site fetch", "POST", http.Header{monitor.TokenHeader: {tok}, "Sec-Fetch-Site": {"cross-site"}}, 403, "cross-origin"},
		{"foreign origin", "POST", http.Header{monitor.TokenHeader: {tok}, "Origin": {"https://evil.example"}}, 403, "cross-origin"},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, body := r.do(t, c.method, "api/replay?event=e1", c.hdr, nil)
			if code != c.code || !strings.Contains(body, c.want) {
				t.Errorf("%d %s, want %d with %q", code, body, c.code, c.want)
			}
		})
	}
	if n := r.records.calls.Load(); n != 1 {
		t.Fatalf("records called %d times after refused writes, want 1", n)
	}
	if code, body := r.post(t, "api/replay", nil); code != http.StatusBadRequest || !strings.Contains(body, "needs a filter") {
		t.Errorf("replay without filter: %d %s", code, body)
	}
}

func TestReplay(t *testing.T) {
	r := newRig(t, monitor.WithWrites(true))
	r.deadLetters(t, "<b>records down</b>", "e1", "WF-1", "e2", "WF-2")

	var res monitor.ActionResult
	if code, body := r.post(t, "api/replay?event=e1&connector=records", &res); code != http.StatusOK {
		t.Fatalf("%d %s", code, body)
	}
	if len(res.Results) != 1 || res.Results[0].Status != "synced" || res.Results[0].Connector != "records" || res.Error != "" {
		t.Fatalf("replay = %+v", res)
	}
	// Replaying again finds no dead letter for e1; replay all takes e2 only.
	r.post(t, "api/replay?event=e1", &res)
	if len(res.Results) != 0 {
		t.Errorf("second replay of e1 = %+v, want nothing", res)
	}
	r.post(t, "api/replay?all=1&expect=1", &res)
	if len(res.Results) != 1 || res.Results[0].Key != "WF-2" || res.Results[0].Status != "synced" {
		t.Errorf("replay all = %+v", res)
	}
	if a, b := r.records.written("WF-1"), r.records.written("WF-2"); a != 1 || b != 1 {
		t.Errorf("records written WF-1 %d times, WF-2 %d times, want once each", a, b)
	}
	var got deliveries
	r.get(t, "api/deliveries?connector=records&state=synced", &got)
	if len(got.Deliveries) != 2 {
		t.Errorf("synced records deliveries = %+v", got.Deliveries)
	}
}

func TestPauseResume(t *testing.T) {
	r := newRig(t, monitor.WithWrites(true))
	if code, body := r.post(t, "api/connectors/records/pause", nil); code != http.StatusOK {
		t.Fatalf("pause: %d %s", code, body)
	}
	var st monitor.Status
	r.get(t, "api/status", &st)
	if st.Connectors[1].State != "paused" || !st.Connectors[1].Paused || st.Connectors[0].State != "running" {
		t.Fatalf("after pause: %+v", st.Connectors)
	}
	rep := r.dispatch(t, "e1", "WF-1")
	if rep.Results[1].Status != synclayer.StatusPending {
		t.Fatalf("records while paused: %v", rep.Results[1].Status)
	}
	r.get(t, "api/status", &st)
	if st.Connectors[1].Queued != 1 || st.Totals.Queued != 1 || st.Connectors[1].Pending != 1 {
		t.Errorf("while paused: %+v", st.Connectors[1])
	}
	var res monitor.ActionResult
	if code, body := r.post(t, "api/connectors/records/resume", &res); code != http.StatusOK {
		t.Fatalf("resume: %d %s", code, body)
	}
	if len(res.Results) != 1 || res.Results[0].Status != "synced" || r.records.written("WF-1") != 1 {
		t.Errorf("resume = %+v, records written %d", res, r.records.written("WF-1"))
	}
	r.get(t, "api/status", &st)
	if st.Connectors[1].State != "running" || st.Connectors[1].Synced != 1 || st.Connectors[1].Queued != 0 {
		t.Errorf("after resume: %+v", st.Connectors[1])
	}
}

func TestPage(t *testing.T) {
	r := newRig(t, monitor.WithTitle(`Ops <"sync">`), monitor.WithWrites(true))
	req, _ := http.NewRequest("GET", r.url(""), nil)
	res, err := r.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var b strings.Builder
	if _, err := io.Copy(&b, res.Body); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("page: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	csp := res.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") {
		t.Errorf("CSP %q", csp)
	}
	for _, want := range []string{`Ops &lt;&#34;sync&#34;&gt;`, `data-writes="true"`, `src="assets/app.js"`, `name="csrf-token" content="`} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %s", want)
		}
	}
	if strings.Contains(page, "http://") || strings.Contains(page, "https://") {
		t.Error("page refers to an absolute URL (a CDN?)")
	}
	for _, a := range []struct{ path, ctype string }{{"assets/app.js", "text/javascript"}, {"assets/style.css", "text/css"}} {
		code, body := r.get(t, a.path, nil)
		if code != 200 || len(body) < 100 {
			t.Errorf("%s: %d, %d bytes", a.path, code, len(body))
		}
	}
	code, body := r.get(t, "assets/app.js", nil)
	if code != 200 || strings.Contains(body, "innerHTML") || strings.Contains(body, "insertAdjacentHTML") {
		t.Error("app.js must insert text with textContent only")
	}
}

func TestNoDeliveryLog(t *testing.T) {
	reg := new(synclayer.Registry)
	if err := reg.Register("c", synclayer.ConnectorFunc(func(context.Context, synclayer.Record) error { return nil }),
		synclayer.Route("T", synclayer.MapperFunc(func(_ context.Context, ev synclayer.Event) (synclayer.Record, error) {
			return synclayer.Record{Key: "k"}, nil
		}))); err != nil {
		t.Fatal(err)
	}
	d := synclayertest.NewDispatcher(t, reg, synclayer.WithObserver(synclayer.NoObserver), synclayer.WithDeliveryLog(synclayer.NoDeliveryLog))
	srv := httptest.NewServer(newHandler(t, d))
	defer srv.Close()
	res, err := srv.Client().Get(srv.URL + "/api/deliveries")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("deliveries without a log: %d, want 503", res.StatusCode)
	}
	res, err = srv.Client().Get(srv.URL + "/api/status")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var st monitor.Status
	if err := json.NewDecoder(res.Body).Decode(&st); err != nil || st.Totals.DeadLetters != -1 || st.Connectors[0].Queued != -1 {
		t.Errorf("status without a log: %v %+v", err, st)
	}
}

func TestBreakerState(t *testing.T) {
	failing := &partner{}
	failing.fail("503 partner down")
	reg := new(synclayer.Registry)
	if err := reg.Register("gis", failing,
		synclayer.Route("T", synclayer.MapperFunc(func(_ context.Context, ev synclayer.Event) (synclayer.Record, error) {
			return synclayer.Record{Key: ev.Subject}, nil
		})),
		synclayer.WithBreaker(synclayer.BreakerPolicy{MinRequests: 1, FailureRate: 1, OpenFor: time.Hour})); err != nil {
		t.Fatal(err)
	}
	d := synclayertest.NewDispatcher(t, reg, synclayer.WithObserver(synclayer.NoObserver))
	srv := httptest.NewServer(newHandler(t, d))
	defer srv.Close()
	_, _ = d.Dispatch(context.Background(), synclayer.Event{ID: "e1", Type: "T", Subject: "k1"})
	_, _ = d.Dispatch(context.Background(), synclayer.Event{ID: "e2", Type: "T", Subject: "k2"}) // held: pending

	res, err := srv.Client().Get(srv.URL + "/api/status")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var st monitor.Status
	if err := json.NewDecoder(res.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	c := st.Connectors[0]
	if c.State != "open" || c.Breaker != "open" || c.DeadLetters != 1 || c.Queued != 1 || failing.calls.Load() != 1 {
		t.Errorf("gis with an open breaker: %+v (calls %d)", c, failing.calls.Load())
	}
}
