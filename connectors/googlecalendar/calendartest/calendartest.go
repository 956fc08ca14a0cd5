// Package calendartest is an in-memory stand-in for the Google Calendar
// API's Events endpoints (insert, get, update, patch, delete), for tests:
// an [http.Handler] that the official client (google.golang.org/api/
// calendar/v3) can be pointed at, so its real requests are exercised.
//
// It behaves as the API documents: client-chosen ids must be base32hex (a-v,
// 0-9) and 5 to 1024 long; inserting an existing id, cancelled ones
// included, answers 409 with reason "duplicate"; delete marks the event
// cancelled and a second delete answers 410 "deleted"; ETags and If-Match
// give 412 "conditionNotMet"; errors use Google's JSON shape. Injected
// [Fault]s make chosen requests fail, stall or lose their answer, and
// [Fake.Put], [Fake.Edit] and [Fake.Remove] change events as other users
// of the calendar (or Google's purge) would.
//
//	fake := calendartest.New()
//	srv := httptest.NewServer(fake)
//	svc, err := fake.Service(ctx, srv.URL, srv.Client())
package calendartest

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"sync"

	"google.golang.org/api/calendar/v3"
	"google.golang.org/api/option"

	"github.com/hmsplatform/synclayer/connectors/internal/faults"
	"github.com/hmsplatform/synclayer/connectors/internal/reqlog"
)

// Fake is an in-memory calendar store. It is safe for concurrent use.
type Fake struct {
	mu       sync.Mutex
	events   map[string]map[string]*stored // calendar -> id -> event
	etag     int
	requests int
	log      reqlog.Log // "METHOD id" of every request
	faults   faults.Queue[Fault]
}

type stored struct {
	ev   calendar.Event
	etag string
}

// New returns an empty fake.
func New() *Fake { return &Fake{events: map[string]map[string]*stored{}} }

// Service returns the official client pointed at the fake served at
// baseURL, with no authentication.
func (f *Fake) Service(ctx context.Context, baseURL string, client *http.Client) (*calendar.Service, error) {
	opts := []option.ClientOption{option.WithEndpoint(baseURL + "/"), option.WithoutAuthentication()}
	if client != nil {
		opts = append(opts, option.WithHTTPClient(client))
	}
	return calendar.NewService(ctx, opts...)
}

// Events returns the events of a calendar, cancelled ones included, by id.
func (f *Fake) Events(calendarID string) []calendar.Event {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]calendar.Event, 0, len(f.events[calendarID]))
	for _, s := range f.events[calendarID] {
		out = append(out, s.ev)
	}
	slices.SortFunc(out, func(a, b calendar.Event) int {
		switch {
		case a.Id < b.Id:
			return -1
		case a.Id > b.Id:
			return 1
		}
		return 0
	})
	return out
}

// Event returns one event.
func (f *Fake) Event(calendarID, id string) (calendar.Event, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.events[calendarID][id]
	if !ok {
		return calendar.Event{}, false
	}
	return s.ev, true
}

// Put stores an event directly, as another client of the calendar would.
// A missing Status becomes "confirmed"; the event gets a fresh ETag.
func (f *Fake) Put(calendarID string, ev calendar.Event) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.store(calendarID, ev.Id, ev)
}

// Log returns "METHOD id" for every request that reached the fake, in
// order (the id is the one of the event addressed or inserted).
func (f *Fake) Log() []string { return f.log.Lines() }

// ResetLog empties the request log (Requests keeps counting).
func (f *Fake) ResetLog() { f.log.Reset() }

// Requests returns how many requests reached the fake.
func (f *Fake) Requests() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.requests
}

var (
	eventsPath = regexp.MustCompile(`^/calendars/([^/]+)/events(?:/([^/]+))?$`)
	idChars    = regexp.MustCompile(`^[a-v0-9]+$`)
)

func apiError(w http.ResponseWriter, code int, reason, msg string) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{
		"errors":  []map[string]string{{"domain": "global", "reason": reason, "message": msg}},
		"code":    code,
		"message": msg,
	}})
}

// ServeHTTP answers the Events endpoints.
func (f *Fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	m := eventsPath.FindStringSubmatch(r.URL.EscapedPath())
	if m == nil {
		apiError(w, http.StatusNotFound, "notFound", "Not Found")
		return
	}
	cal, _ := url.PathUnescape(m[1])
	id, _ := url.PathUnescape(m[2])
	if (r.Method == http.MethodPost) != (id == "") {
		apiError(w, http.StatusNotFound, "notFound", "Not Found")
		return
	}
	var body calendar.Event
	if r.Method == http.MethodPost || r.Method == http.MethodPut || r.Method == http.MethodPatch {
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			apiError(w, http.StatusBadRequest, "parseError", "Parse Error")
			return
		}
		if r.Method == http.MethodPost {
			id = body.Id
		}
	}
	f.mu.Lock()
	f.requests++
	f.log.Add(r.Method + " " + id)
	fault := f.takeFault(r.Method)
	f.mu.Unlock()
	if fault != nil && fault.Stall {
		<-r.Context().Done()
		return
	}
	if fault != nil && fault.Code != 0 {
		for k, v := range fault.Header {
			w.Header()[k] = v
		}
		apiError(w, fault.Code, fault.Reason, "injected "+fault.Reason)
		return
	}
	f.mu.Lock()
	code, reason, out := f.apply(r.Method, r.Header.Get("If-Match"), cal, id, &body)
	f.mu.Unlock()
	if fault != nil && fault.Lost {
		faults.Drop(w)
		return
	}
	switch {
	case code >= 400:
		apiError(w, code, reason, reason)
	case out == nil:
		w.WriteHeader(code)
	default:
		w.Header().Set("Content-Type", "application/json; charset=UTF-8")
		w.Header().Set("ETag", out.Etag)
		_ = json.NewEncoder(w).Encode(out)
	}
}

// apply runs one request against the store; f.mu is held.
func (f *Fake) apply(method, ifMatch, cal, id string, body *calendar.Event) (int, string, *calendar.Event) {
	cur := f.events[cal][id]
	if method != http.MethodPost && method != http.MethodGet && cur == nil {
		return http.StatusNotFound, "notFound", nil
	}
	if (method == http.MethodPut || method == http.MethodPatch || method == http.MethodDelete) && ifMatch != "" && ifMatch != cur.etag {
		return http.StatusPreconditionFailed, "conditionNotMet", nil
	}
	switch method {
	case http.MethodPost:
		switch {
		case !idChars.MatchString(id) || len(id) < 5 || len(id) > 1024:
			return http.StatusBadRequest, "invalid", nil
		case body.Start == nil || body.End == nil:
			return http.StatusBadRequest, "required", nil
		case cur != nil:
			return http.StatusConflict, "duplicate", nil
		}
		return http.StatusOK, "", f.store(cal, id, *body)
	case http.MethodGet:
		if cur == nil {
			return http.StatusNotFound, "notFound", nil
		}
		ev := cur.ev
		return http.StatusOK, "", &ev
	case http.MethodPut:
		return http.StatusOK, "", f.store(cal, id, *body)
	case http.MethodPatch:
		merged := cur.ev
		b, _ := json.Marshal(body)
		_ = json.Unmarshal(b, &merged)
		return http.StatusOK, "", f.store(cal, id, merged)
	case http.MethodDelete:
		if cur.ev.Status == "cancelled" {
			return http.StatusGone, "deleted", nil
		}
		ev := cur.ev
		ev.Status = "cancelled"
		f.store(cal, id, ev)
		return http.StatusNoContent, "", nil
	}
	return http.StatusMethodNotAllowed, "methodNotAllowed", nil
}

func (f *Fake) store(cal, id string, ev calendar.Event) *calendar.Event {
	f.etag++
	ev.Id = id
	ev.Etag = `"` + strconv.Itoa(f.etag) + `"`
	if ev.Status == "" {
		ev.Status = "confirmed"
	}
	if f.events[cal] == nil {
		f.events[cal] = map[string]*stored{}
	}
	f.events[cal][id] = &stored{ev: ev, etag: ev.Etag}
	out := ev
	return &out
}
