package caldav_test

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-ical"
	"go.uber.org/goleak"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/connectors/caldav"
	"github.com/hmsplatform/synclayer/connectors/internal/conntest"
	"github.com/hmsplatform/synclayer/connectors/partner"
	"github.com/hmsplatform/synclayer/internal/caldavtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var stamp = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// env is one fresh calendar on a real server, with a connector whose
// transport can misbehave.
type env struct {
	srv  *caldavtest.Server
	cal  string
	tr   *transport
	conn *caldav.Connector
}

func newDispatcher(t *testing.T, c synclayer.Connector) *synclayer.Dispatcher {
	t.Helper()
	return conntest.MeetingDispatcher(t, "caldav", c, func(title string) any {
		return caldav.Event{Summary: title, Start: time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC), End: time.Date(2026, 3, 10, 10, 0, 0, 0, time.UTC)}
	}, conntest.FastRetry(20*time.Second), 20*time.Second)
}

func newEnv(t *testing.T, srv *caldavtest.Server) *env {
	t.Helper()
	e := &env{srv: srv, cal: srv.NewCalendar(t)}
	e.tr = &transport{next: srv.Client().Transport}
	if e.tr.next == nil {
		e.tr.next = http.DefaultTransport
	}
	c, err := caldav.New(caldav.Config{CollectionURL: e.cal, HTTPClient: &http.Client{Transport: e.tr, Timeout: 30 * time.Second}, Now: func() time.Time { return stamp }})
	if err != nil {
		t.Fatal(err)
	}
	e.conn = c
	return e
}

// object fetches and decodes key's object; ok is false when absent.
func (e *env) object(t *testing.T, key string) (*ical.Event, string, bool) {
	t.Helper()
	body, etag, status := e.srv.Get(t, e.conn.ObjectURL(key))
	if status == http.StatusNotFound {
		return nil, "", false
	}
	if status != http.StatusOK {
		t.Fatalf("GET %s: %d %s", key, status, body)
	}
	cal, err := ical.NewDecoder(strings.NewReader(body)).Decode()
	if err != nil {
		t.Fatalf("stored object does not parse: %v\n%s", err, body)
	}
	evs := cal.Events()
	if len(evs) != 1 {
		t.Fatalf("%d VEVENTs in %s", len(evs), body)
	}
	return &evs[0], etag, true
}

// objectsFor returns how many objects of the collection name key.
func (e *env) objectsFor(t *testing.T, key string) []string {
	t.Helper()
	var out []string
	for href, data := range e.srv.Objects(t, e.cal) {
		cal, err := ical.NewDecoder(strings.NewReader(data)).Decode()
		if err != nil {
			t.Fatalf("%s: %v", href, err)
		}
		for _, ev := range cal.Events() {
			if k, _ := ev.Props.Text(caldav.PropKey); k == key {
				s, _ := ev.Props.Text(ical.PropSummary)
				out = append(out, s)
			}
		}
	}
	return out
}

func text(t *testing.T, ev *ical.Event, name string) string {
	t.Helper()
	s, err := ev.Props.Text(name)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return s
}

// servers runs fn against a real Radicale and a real Xandikos.
func servers(t *testing.T, fn func(t *testing.T, srv *caldavtest.Server)) {
	t.Run("Radicale", func(t *testing.T) { fn(t, caldavtest.StartRadicale(t, caldavtest.RadicaleOptions{})) })
	t.Run("Xandikos", func(t *testing.T) { fn(t, caldavtest.StartXandikos(t)) })
}

// serverTest is one named test of the connector against a server.
type serverTest struct {
	name string
	run  func(t *testing.T, srv *caldavtest.Server)
}

// onServers runs each of tests, as a subtest of its name, against a real
// Radicale and a real Xandikos.
func onServers(t *testing.T, tests []serverTest) {
	servers(t, func(t *testing.T, srv *caldavtest.Server) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) { tt.run(t, srv) })
		}
	})
}

// onEnv runs fn on a fresh env: a calendar of its own on the server.
func onEnv(fn func(t *testing.T, e *env)) func(t *testing.T, srv *caldavtest.Server) {
	return func(t *testing.T, srv *caldavtest.Server) { fn(t, newEnv(t, srv)) }
}

func TestServers(t *testing.T) {
	onServers(t, []serverTest{
		{"CreateUpdateDelete", onEnv(testCreateUpdateDelete)},
		{"AllDayAndEscaping", onEnv(testAllDayAndEscaping)},
		{"ConcurrentEdit", onEnv(testConcurrentEdit)},
		{"ConcurrentCreate", onEnv(testConcurrentCreate)},
		{"OddKey", onEnv(testOddKey)},
		{"LostResponse", onEnv(testLostResponse)},
		{"BurstOfVersions", onEnv(testBurst)},
		{"StaleVersion", onEnv(testStale)},
		{"UIDConflict", onEnv(testUIDConflict)},
		{"MissingCollection", testMissingCollection},
		{"Conformance", testConformance},
	})
}

func testCreateUpdateDelete(t *testing.T, e *env) {
	d := newDispatcher(t, e.conn)
	key := "WF-123"
	if r := conntest.SendMeeting(t, d, conntest.Meeting{Key: key, Title: "Go live", Version: 1}); r.Status != synclayer.StatusSynced {
		t.Fatalf("create: %v %v", r.Status, r.Err)
	}
	ev, _, ok := e.object(t, key)
	if !ok {
		t.Fatal("not created")
	}
	if got := text(t, ev, ical.PropUID); got != caldav.UID(caldav.DefaultNamespace, key) {
		t.Errorf("UID %q", got)
	}
	if text(t, ev, ical.PropSummary) != "Go live" || text(t, ev, caldav.PropKey) != key || text(t, ev, caldav.PropVersion) != "1" {
		t.Errorf("props %v", ev.Props)
	}
	if p := ev.Props.Get(ical.PropDateTimeStart); p == nil || p.Value != "20260310T090000Z" {
		t.Errorf("DTSTART %+v", p)
	}
	if p := ev.Props.Get(ical.PropDateTimeStamp); p == nil || p.Value != "20260301T120000Z" {
		t.Errorf("DTSTAMP %+v", p)
	}
	if e.srv.Name == "Radicale" {
		// What Radicale keeps on disk.
		stored, ok := e.srv.StoredFile(t, e.conn.ObjectURL(key))
		if !ok || !strings.Contains(stored, "SUMMARY:Go live") || !strings.Contains(stored, "X-SYNCLAYER-KEY:WF-123") {
			t.Errorf("stored file %v:\n%s", ok, stored)
		}
	}

	e.tr.log.Reset()
	if r := conntest.SendMeeting(t, d, conntest.Meeting{Key: key, Title: "Go live, moved", Version: 2}); r.Status != synclayer.StatusSynced {
		t.Fatalf("update: %v %v", r.Status, r.Err)
	}
	if got := e.objectsFor(t, key); len(got) != 1 || got[0] != "Go live, moved" {
		t.Errorf("after update: %q", got)
	}
	if log := e.tr.log.Lines(); len(log) != 2 || log[0] != "GET 200" || !strings.HasPrefix(log[1], "PUT 20") {
		t.Errorf("update requests %q", log)
	}

	if r := conntest.SendMeeting(t, d, conntest.Meeting{Key: key, Version: 3, Delete: true}); r.Status != synclayer.StatusSynced {
		t.Fatalf("delete: %v %v", r.Status, r.Err)
	}
	if _, _, ok := e.object(t, key); ok {
		t.Error("still there after delete")
	}
	if e.srv.Name == "Radicale" {
		if _, ok := e.srv.StoredFile(t, e.conn.ObjectURL(key)); ok {
			t.Error("file still stored")
		}
	}
	if r := conntest.SendMeeting(t, d, conntest.Meeting{Key: key, Version: 4, Delete: true}); r.Status != synclayer.StatusSynced {
		t.Errorf("second delete: %v %v", r.Status, r.Err)
	}
}

func testAllDayAndEscaping(t *testing.T, e *env) {
	summary := `Review; budget, Q1 \ final`
	desc := "Line one\r\nLine two, with 日本語 and emoji 🚀 " + strings.Repeat("long text ", 12) + "\x07end"
	err := e.conn.Sync(t.Context(), synclayer.Record{Key: "allday", Version: 1, Payload: &caldav.Event{
		Summary: summary, Description: desc, Location: "Room 1; Floor 2",
		Start: time.Date(2026, 3, 10, 15, 0, 0, 0, time.FixedZone("CET", 3600)), AllDay: true,
	}})
	if err != nil {
		t.Fatal(err)
	}
	ev, _, _ := e.object(t, "allday")
	if got := text(t, ev, ical.PropSummary); got != summary {
		t.Errorf("summary %q", got)
	}
	wantDesc := strings.ReplaceAll(strings.ReplaceAll(desc, "\r\n", "\n"), "\x07", "")
	if got := text(t, ev, ical.PropDescription); got != wantDesc {
		t.Errorf("description %q\nwant %q", got, wantDesc)
	}
	if got := text(t, ev, ical.PropLocation); got != "Room 1; Floor 2" {
		t.Errorf("location %q", got)
	}
	start, end := ev.Props.Get(ical.PropDateTimeStart), ev.Props.Get(ical.PropDateTimeEnd)
	if start.Value != "20260310" || start.Params.Get("VALUE") != "DATE" || end.Value != "20260311" || end.Params.Get("VALUE") != "DATE" {
		t.Errorf("DTSTART %+v DTEND %+v", start, end)
	}
	if e.srv.Name == "Radicale" {
		stored, _ := e.srv.StoredFile(t, e.conn.ObjectURL("allday"))
		if !strings.Contains(stored, `SUMMARY:Review\; budget\, Q1 \\ final`) || !strings.Contains(stored, "DTSTART;VALUE=DATE:20260310") {
			t.Errorf("stored:\n%s", stored)
		}
	}
}

// testConcurrentEdit: another client changes the object between our read
// and our write; the server answers 412 and the connector reads again.
func testConcurrentEdit(t *testing.T, e *env) {
	key := "shared"
	if err := e.conn.Sync(t.Context(), synclayer.Record{Key: key, Payload: caldav.Event{Summary: "ours v1", Start: stamp}}); err != nil {
		t.Fatal(err)
	}
	_, etag, _ := e.object(t, key)
	e.tr.log.Reset()
	e.tr.inject(fault{method: http.MethodPut, before: func() {
		// Someone edits the event directly in the server.
		body, _, _ := e.srv.Get(t, e.conn.ObjectURL(key))
		body = strings.Replace(body, "SUMMARY:ours v1", "SUMMARY:theirs", 1)
		req, _ := http.NewRequest(http.MethodPut, e.conn.ObjectURL(key), strings.NewReader(body))
		req.Header.Set("Content-Type", "text/calendar; charset=utf-8")
		req.Header.Set("If-Match", etag)
		resp, err := e.srv.Client().Do(req)
		if err != nil || resp.StatusCode/100 != 2 {
			t.Errorf("direct edit: %v %v", err, resp)
		}
		if resp != nil {
			resp.Body.Close()
		}
	}})
	if err := e.conn.Sync(t.Context(), synclayer.Record{Key: key, Payload: caldav.Event{Summary: "ours v2", Start: stamp}}); err != nil {
		t.Fatal(err)
	}
	log := e.tr.log.Lines()
	if len(log) != 4 || log[0] != "GET 200" || log[1] != "PUT 412" || log[2] != "GET 200" || !strings.HasPrefix(log[3], "PUT 20") {
		t.Errorf("requests %q, want GET, PUT 412, GET, PUT", log)
	}
	if got := e.objectsFor(t, key); len(got) != 1 || got[0] != "ours v2" {
		t.Errorf("objects %q", got)
	}
	// A change before every write: a retryable conflict after MaxConflicts.
	for range 3 {
		e.tr.inject(fault{method: http.MethodPut, status: http.StatusPreconditionFailed})
	}
	err := e.conn.Sync(t.Context(), synclayer.Record{Key: key, Payload: caldav.Event{Summary: "ours v3", Start: stamp}})
	if !errors.Is(err, partner.ErrConflict) || synclayer.IsPermanent(err) || !strings.Contains(err.Error(), "412") {
		t.Errorf("%v", err)
	}
}

// testConcurrentCreate: another client creates the object between our
// read (404) and our If-None-Match create.
func testConcurrentCreate(t *testing.T, e *env) {
	key := "race"
	e.tr.inject(fault{method: http.MethodPut, before: func() {
		if err := e.conn.Sync(context.WithoutCancel(t.Context()), synclayer.Record{Key: key, Payload: caldav.Event{Summary: "first", Start: stamp}}); err != nil {
			t.Errorf("concurrent create: %v", err)
		}
	}})
	if err := e.conn.Sync(t.Context(), synclayer.Record{Key: key, Payload: caldav.Event{Summary: "second", Start: stamp}}); err != nil {
		t.Fatal(err)
	}
	log := e.tr.log.Lines()
	if len(log) < 5 || log[0] != "GET 404" || log[3] != "PUT 412" {
		t.Errorf("requests %q", log)
	}
	if got := e.objectsFor(t, key); len(got) != 1 || got[0] != "second" {
		t.Errorf("objects %q", got)
	}
}

func testOddKey(t *testing.T, e *env) {
	keys := []string{"team/a/../b c", "Grüße/日本/🚀", "50%2F", "..", "a?b#c"}
	for _, k := range keys {
		if err := e.conn.Sync(t.Context(), synclayer.Record{Key: k, Version: 1, Payload: caldav.Event{Summary: "for " + k, Start: stamp}}); err != nil {
			t.Fatalf("%q: %v", k, err)
		}
	}
	for _, k := range keys {
		got := e.objectsFor(t, k)
		if len(got) != 1 || got[0] != "for "+k {
			t.Errorf("%q: %q", k, got)
		}
		if !strings.HasPrefix(e.conn.ObjectURL(k), e.cal) || strings.Count(strings.TrimPrefix(e.conn.ObjectURL(k), e.cal), "/") != 0 {
			t.Errorf("%q: object URL %s outside the collection", k, e.conn.ObjectURL(k))
		}
	}
	if e.srv.Name == "Radicale" {
		stored, ok := e.srv.StoredFile(t, e.conn.ObjectURL("Grüße/日本/🚀"))
		if !ok || !strings.Contains(stored, "X-SYNCLAYER-KEY:Grüße/日本/🚀") {
			t.Errorf("stored %v:\n%s", ok, stored)
		}
	}
}

func testLostResponse(t *testing.T, e *env) {
	d := newDispatcher(t, e.conn)
	e.tr.inject(fault{method: http.MethodPut, lost: true})
	r := conntest.SendMeeting(t, d, conntest.Meeting{Key: "lost", Title: "v1", Version: 1})
	if r.Status != synclayer.StatusSynced || r.Attempts != 2 {
		t.Fatalf("%v after %d attempts: %v", r.Status, r.Attempts, r.Err)
	}
	e.tr.inject(fault{method: http.MethodPut, lost: true})
	if r := conntest.SendMeeting(t, d, conntest.Meeting{Key: "lost", Title: "v2", Version: 2}); r.Status != synclayer.StatusSynced {
		t.Fatalf("%v: %v", r.Status, r.Err)
	}
	if got := e.objectsFor(t, "lost"); len(got) != 1 || got[0] != "v2" {
		t.Errorf("objects %q", got)
	}
}

func testBurst(t *testing.T, e *env) {
	d := newDispatcher(t, e.conn)
	const n = 50
	var wg sync.WaitGroup
	for _, v := range rand.Perm(n) {
		wg.Go(func() {
			r := conntest.SendMeeting(t, d, conntest.Meeting{Key: "standup", Title: "v" + strconv.Itoa(v+1), Version: int64(v + 1)})
			if r.Status != synclayer.StatusSynced && r.Status != synclayer.StatusStale {
				t.Errorf("version %d: %v %v", v+1, r.Status, r.Err)
			}
		})
	}
	wg.Wait()
	if got := e.objectsFor(t, "standup"); len(got) != 1 || got[0] != "v"+strconv.Itoa(n) {
		t.Errorf("objects %q", got)
	}
	ev, _, _ := e.object(t, "standup")
	if v := text(t, ev, caldav.PropVersion); v != strconv.Itoa(n) {
		t.Errorf("version %s", v)
	}
}

func testStale(t *testing.T, e *env) {
	conntest.StaleVersion(t, func() *synclayer.Dispatcher { return newDispatcher(t, e.conn) },
		func(d *synclayer.Dispatcher, m conntest.Meeting) synclayer.Result {
			return conntest.SendMeeting(t, d, m)
		},
		func(t *testing.T) {
			if got := e.objectsFor(t, "k"); len(got) != 1 || got[0] != "five" {
				t.Errorf("stale write landed: %q", got)
			}
		})
}

func testUIDConflict(t *testing.T, e *env) {
	// Another client stored an object with the key's UID at another href.
	var buf bytes.Buffer
	cal := ical.NewCalendar()
	cal.Props.SetText(ical.PropVersion, "2.0")
	cal.Props.SetText(ical.PropProductID, "-//other//EN")
	ev := ical.NewEvent()
	ev.Props.SetText(ical.PropUID, caldav.UID(caldav.DefaultNamespace, "taken"))
	ev.Props.SetDateTime(ical.PropDateTimeStamp, stamp)
	ev.Props.SetDateTime(ical.PropDateTimeStart, stamp)
	cal.Children = append(cal.Children, ev.Component)
	if err := ical.NewEncoder(&buf).Encode(cal); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPut, e.cal+"elsewhere.ics", &buf)
	req.Header.Set("Content-Type", "text/calendar; charset=utf-8")
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	err = e.conn.Sync(t.Context(), synclayer.Record{Key: "taken", Payload: caldav.Event{Summary: "mine", Start: stamp}})
	if !synclayer.IsPermanent(err) || !errors.Is(err, partner.ErrConflict) {
		t.Fatalf("%v", err)
	}
	if !errors.Is(err, caldav.ErrUIDConflict) || !strings.Contains(err.Error(), `UID already used by another object of the collection: UID `+caldav.UID(caldav.DefaultNamespace, "taken")+` (key "taken")`) {
		t.Errorf("unclear error: %v", err)
	}
}

func testMissingCollection(t *testing.T, srv *caldavtest.Server) {
	c, err := caldav.New(caldav.Config{CollectionURL: srv.URL + "/nobody/none/", HTTPClient: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	err = c.Sync(t.Context(), synclayer.Record{Key: "k", Payload: caldav.Event{Summary: "x", Start: stamp}})
	if !synclayer.IsPermanent(err) || !strings.HasPrefix(err.Error(), "caldav: PUT "+srv.URL) {
		t.Errorf("%v", err)
	}
}
