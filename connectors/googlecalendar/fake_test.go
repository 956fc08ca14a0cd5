package googlecalendar_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"google.golang.org/api/calendar/v3"
	"google.golang.org/api/option"
)

// fakeCalendar serves the Events endpoints the connector uses (insert,
// get, update, delete) the way the Calendar API documents them: chosen ids
// checked, 409 duplicate for an existing id (cancelled ones included),
// ETags and If-Match with 412 conditionNotMet, 410 deleted for a second
// delete, and errors in Google's JSON shape.
type fakeCalendar struct {
	t   testing.TB
	srv *httptest.Server

	mu     sync.Mutex
	events map[string]map[string]*storedEvent // calendar -> id -> event
	etag   int
	faults []calFault
	log    []string // "METHOD id" of every request
}

type storedEvent struct {
	ev   calendar.Event
	etag string
}

// calFault makes one request misbehave.
type calFault struct {
	method string // "POST", "GET", "PUT", "DELETE"; "" for any
	code   int    // HTTP status of an error answer
	reason string // errors[0].reason
	header http.Header
	lost   bool // apply the request, then drop the connection
	stall  bool // hold the request until the client gives up
}

func newFakeCalendar(t testing.TB) *fakeCalendar {
	f := &fakeCalendar{t: t, events: map[string]map[string]*storedEvent{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

// service returns the official client pointed at the fake.
func (f *fakeCalendar) service(t testing.TB) *calendar.Service {
	svc, err := calendar.NewService(t.Context(), option.WithEndpoint(f.srv.URL+"/"), option.WithHTTPClient(f.srv.Client()), option.WithoutAuthentication())
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

func (f *fakeCalendar) inject(fl ...calFault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.faults = append(f.faults, fl...)
}

// put stores an event directly, as another client would.
func (f *fakeCalendar) put(cal string, ev calendar.Event) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.store(cal, &ev)
}

func (f *fakeCalendar) store(cal string, ev *calendar.Event) string {
	if f.events[cal] == nil {
		f.events[cal] = map[string]*storedEvent{}
	}
	f.etag++
	tag := fmt.Sprintf(`"%d"`, f.etag)
	ev.Etag = tag
	if ev.Status == "" {
		ev.Status = "confirmed"
	}
	f.events[cal][ev.Id] = &storedEvent{ev: *ev, etag: tag}
	return tag
}

// get returns the stored event.
func (f *fakeCalendar) get(cal, id string) (calendar.Event, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.events[cal][id]
	if !ok {
		return calendar.Event{}, false
	}
	return s.ev, true
}

// byKey returns the events (not cancelled) whose private key is key.
func (f *fakeCalendar) byKey(cal, key string) []calendar.Event {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []calendar.Event
	for _, s := range f.events[cal] {
		if s.ev.Status != "cancelled" && s.ev.ExtendedProperties != nil && s.ev.ExtendedProperties.Private["synclayerKey"] == key {
			out = append(out, s.ev)
		}
	}
	return out
}

func (f *fakeCalendar) requests() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.log)
}

func (f *fakeCalendar) resetLog() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.log = nil
}

func gerr(w http.ResponseWriter, code int, reason, msg string) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{
		"errors":  []map[string]string{{"domain": "global", "reason": reason, "message": msg}},
		"code":    code,
		"message": msg,
	}})
}

var (
	eventsPath = regexp.MustCompile(`^/calendars/([^/]+)/events(?:/([^/]+))?$`)
	idChars    = regexp.MustCompile(`^[a-v0-9]+$`)
)

func (f *fakeCalendar) serve(w http.ResponseWriter, r *http.Request) {
	m := eventsPath.FindStringSubmatch(r.URL.EscapedPath())
	if m == nil || r.URL.Query().Get("alt") != "json" {
		gerr(w, 404, "notFound", "Not Found")
		return
	}
	cal, _ := url.PathUnescape(m[1])
	id, _ := url.PathUnescape(m[2])
	if r.Method == http.MethodPost && id != "" || r.Method != http.MethodPost && id == "" {
		gerr(w, 404, "notFound", "Not Found")
		return
	}
	var body calendar.Event
	if r.Method == http.MethodPost || r.Method == http.MethodPut {
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			gerr(w, 400, "parseError", "Parse Error")
			return
		}
		if r.Method == http.MethodPost {
			id = body.Id
		}
	}

	f.mu.Lock()
	f.log = append(f.log, r.Method+" "+id)
	var fault *calFault
	for i, fl := range f.faults {
		if fl.method == "" || fl.method == r.Method {
			fault = &fl
			f.faults = slices.Delete(f.faults, i, i+1)
			break
		}
	}
	f.mu.Unlock()
	if fault != nil && fault.stall {
		<-r.Context().Done()
		return
	}
	if fault != nil && fault.code != 0 {
		for k, v := range fault.header {
			w.Header()[k] = v
		}
		gerr(w, fault.code, fault.reason, "injected "+fault.reason)
		return
	}

	f.mu.Lock()
	code, reason, out := f.handle(r, cal, id, &body)
	f.mu.Unlock()
	if fault != nil && fault.lost {
		if conn, _, err := w.(http.Hijacker).Hijack(); err == nil {
			conn.Close()
		}
		return
	}
	switch {
	case code >= 400:
		gerr(w, code, reason, reason)
	case out == nil:
		w.WriteHeader(code)
	default:
		w.Header().Set("Content-Type", "application/json; charset=UTF-8")
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(out)
	}
}

// handle applies one request to the calendar; f.mu is held.
func (f *fakeCalendar) handle(r *http.Request, cal, id string, body *calendar.Event) (int, string, *calendar.Event) {
	cur := f.events[cal][id]
	ifMatch := r.Header.Get("If-Match")
	switch r.Method {
	case http.MethodPost:
		switch {
		case !idChars.MatchString(id), len(id) < 5, len(id) > 1024:
			return 400, "invalid", nil
		case body.Start == nil || body.End == nil:
			return 400, "required", nil
		case cur != nil:
			return 409, "duplicate", nil
		}
		f.store(cal, body)
		ev := f.events[cal][id].ev
		return 200, "", &ev
	case http.MethodGet:
		if cur == nil {
			return 404, "notFound", nil
		}
		ev := cur.ev
		return 200, "", &ev
	case http.MethodPut:
		switch {
		case cur == nil:
			return 404, "notFound", nil
		case ifMatch != "" && ifMatch != cur.etag:
			return 412, "conditionNotMet", nil
		}
		body.Id = id
		f.store(cal, body)
		ev := f.events[cal][id].ev
		return 200, "", &ev
	case http.MethodDelete:
		switch {
		case cur == nil:
			return 404, "notFound", nil
		case cur.ev.Status == "cancelled":
			return 410, "deleted", nil
		case ifMatch != "" && ifMatch != cur.etag:
			return 412, "conditionNotMet", nil
		}
		ev := cur.ev
		ev.Status = "cancelled"
		f.store(cal, &ev)
		return 204, "", nil
	}
	return 405, "methodNotAllowed", nil
}

// ids lists the request log without ids, for sequence checks.
func methods(log []string) string {
	out := make([]string, len(log))
	for i, l := range log {
		out[i], _, _ = strings.Cut(l, " ")
	}
	return strings.Join(out, " ")
}
