package googlecalendar_test

import (
	"crypto/sha256"
	"encoding/base32"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/api/calendar/v3"
	"google.golang.org/api/option"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/connectors/googlecalendar"
	"github.com/hmsplatform/synclayer/connectors/googlecalendar/calendartest"
	"github.com/hmsplatform/synclayer/connectors/internal/conntest"
	"github.com/hmsplatform/synclayer/connectors/partner"
	sloption "github.com/hmsplatform/synclayer/internal/option"
	"github.com/hmsplatform/synclayer/synclayertest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const calID = "team@group.calendar.google.com"

func newConnector(t *testing.T, f *fakeCalendar) *googlecalendar.Connector {
	t.Helper()
	c, err := googlecalendar.New(googlecalendar.Config{Service: f.service(t), CalendarID: calID})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func meetingEvent(title string) *calendar.Event {
	return &calendar.Event{
		Summary: title,
		Start:   &calendar.EventDateTime{Date: "2026-03-10"},
		End:     &calendar.EventDateTime{Date: "2026-03-11"},
	}
}

func newDispatcher(t *testing.T, c synclayer.Connector) *synclayer.Dispatcher {
	t.Helper()
	return conntest.MeetingDispatcher(t, "calendar", c, func(title string) any { return meetingEvent(title) }, conntest.FastRetry(10*time.Second), 5*time.Second)
}

func only(t *testing.T, f *fakeCalendar, key string) calendar.Event {
	t.Helper()
	got := f.byKey(calID, key)
	if len(got) != 1 {
		t.Fatalf("key %q: %d live events, want 1", key, len(got))
	}
	return got[0]
}

// created is a fake calendar, a connector and a dispatcher over them,
// after the dispatcher created the meeting "Review" of key
// "WF-123/review" at version 1.
func created(t *testing.T) (*fakeCalendar, *googlecalendar.Connector, *synclayer.Dispatcher, string) {
	t.Helper()
	f := newFakeCalendar(t)
	c := newConnector(t, f)
	d := newDispatcher(t, c)
	key := "WF-123/review"
	if r := conntest.SendMeeting(t, d, conntest.Meeting{Key: key, Title: "Review", Version: 1}); r.Status != synclayer.StatusSynced {
		t.Fatalf("create: %v %v", r.Status, r.Err)
	}
	return f, c, d, key
}

func TestCreateUpdateDelete(t *testing.T) {
	f, c, d, key := created(t)
	ev := only(t, f, key)
	if ev.Id != c.EventID(key) || ev.Summary != "Review" || ev.Status != "confirmed" ||
		ev.ExtendedProperties.Private["synclayerKey"] != key || ev.ExtendedProperties.Private["synclayerVersion"] != "1" {
		t.Errorf("created %+v %+v", ev, ev.ExtendedProperties)
	}
	if got := methods(f.Log()); got != "POST" {
		t.Errorf("requests %q", got)
	}

	f.ResetLog()
	if r := conntest.SendMeeting(t, d, conntest.Meeting{Key: key, Title: "Review v2", Version: 2}); r.Status != synclayer.StatusSynced {
		t.Fatalf("update: %v %v", r.Status, r.Err)
	}
	if ev := only(t, f, key); ev.Summary != "Review v2" || ev.ExtendedProperties.Private["synclayerVersion"] != "2" {
		t.Errorf("updated %+v", ev)
	}
	if got := methods(f.Log()); got != "POST GET PUT" {
		t.Errorf("requests %q, want insert, 409, get, update", got)
	}

	f.ResetLog()
	if r := conntest.SendMeeting(t, d, conntest.Meeting{Key: key, Version: 3, Delete: true}); r.Status != synclayer.StatusSynced {
		t.Fatalf("delete: %v %v", r.Status, r.Err)
	}
	if got, _ := f.Event(calID, c.EventID(key)); got.Status != "cancelled" || got.ExtendedProperties.Private["synclayerVersion"] != "3" {
		t.Errorf("after delete, status %q, properties %v", got.Status, got.ExtendedProperties)
	}
	if got := methods(f.Log()); got != "GET PUT DELETE" {
		t.Errorf("requests %q", got)
	}
	// Deleting again, and deleting what never existed, is done.
	if r := conntest.SendMeeting(t, d, conntest.Meeting{Key: key, Version: 4, Delete: true}); r.Status != synclayer.StatusSynced {
		t.Errorf("second delete: %v %v", r.Status, r.Err)
	}
	if r := conntest.SendMeeting(t, d, conntest.Meeting{Key: "never", Version: 1, Delete: true}); r.Status != synclayer.StatusSynced {
		t.Errorf("delete of a missing event: %v %v", r.Status, r.Err)
	}
}

func TestInsertConflictTurnsIntoUpdate(t *testing.T) {
	f := newFakeCalendar(t)
	c := newConnector(t, f)
	// The event exists already: an earlier insert whose response was lost.
	f.Put(calID, calendar.Event{Id: c.EventID("k"), Summary: "old", Start: &calendar.EventDateTime{Date: "2026-01-01"}, End: &calendar.EventDateTime{Date: "2026-01-02"},
		ExtendedProperties: &calendar.EventExtendedProperties{Private: map[string]string{"synclayerKey": "k"}}})
	if err := c.Sync(t.Context(), synclayer.Record{Key: "k", Payload: meetingEvent("new")}); err != nil {
		t.Fatal(err)
	}
	if ev := only(t, f, "k"); ev.Summary != "new" {
		t.Errorf("summary %q", ev.Summary)
	}
	if got := methods(f.Log()); got != "POST GET PUT" {
		t.Errorf("requests %q", got)
	}
}

func TestCancelledEventIsRestored(t *testing.T) {
	f := newFakeCalendar(t)
	c := newConnector(t, f)
	id := c.EventID("k")
	f.Put(calID, calendar.Event{Id: id, Status: "cancelled", Summary: "gone", Start: &calendar.EventDateTime{Date: "2026-01-01"}, End: &calendar.EventDateTime{Date: "2026-01-02"}})
	if err := c.Sync(t.Context(), synclayer.Record{Key: "k", Version: 2, Payload: meetingEvent("back")}); err != nil {
		t.Fatal(err)
	}
	ev, _ := f.Event(calID, id)
	if ev.Status != "confirmed" || ev.Summary != "back" {
		t.Errorf("status %q summary %q", ev.Status, ev.Summary)
	}

	// And through a dispatcher: delete, then a newer version restores it.
	d := newDispatcher(t, c)
	conntest.SendMeeting(t, d, conntest.Meeting{Key: "k", Version: 3, Delete: true})
	if len(f.byKey(calID, "k")) != 0 {
		t.Fatal("not deleted")
	}
	if r := conntest.SendMeeting(t, d, conntest.Meeting{Key: "k", Title: "again", Version: 4}); r.Status != synclayer.StatusSynced {
		t.Fatalf("%v %v", r.Status, r.Err)
	}
	if ev := only(t, f, "k"); ev.Summary != "again" || ev.Id != id {
		t.Errorf("%+v", ev)
	}
}

func TestConcurrentChangeRereads(t *testing.T) {
	f := newFakeCalendar(t)
	c := newConnector(t, f)
	if err := c.Sync(t.Context(), synclayer.Record{Key: "k", Payload: meetingEvent("one")}); err != nil {
		t.Fatal(err)
	}
	f.ResetLog()
	f.Inject(calendartest.Fault{Method: "PUT", Code: 412, Reason: "conditionNotMet"})
	if err := c.Sync(t.Context(), synclayer.Record{Key: "k", Payload: meetingEvent("two")}); err != nil {
		t.Fatal(err)
	}
	if got := methods(f.Log()); got != "POST GET PUT GET PUT" {
		t.Errorf("requests %q", got)
	}
	if ev := only(t, f, "k"); ev.Summary != "two" {
		t.Errorf("summary %q", ev.Summary)
	}
	// Endless concurrent changes: a retryable conflict after MaxConflicts.
	f.Inject(calendartest.Fault{Method: "PUT", Code: 412, Reason: "conditionNotMet"}, calendartest.Fault{Method: "PUT", Code: 412, Reason: "conditionNotMet"}, calendartest.Fault{Method: "PUT", Code: 412, Reason: "conditionNotMet"})
	err := c.Sync(t.Context(), synclayer.Record{Key: "k", Payload: meetingEvent("three")})
	if !errors.Is(err, partner.ErrConflict) || synclayer.IsPermanent(err) {
		t.Errorf("%v", err)
	}
}

func TestLostResponseRetryLeavesOneEvent(t *testing.T) {
	for _, method := range []string{"POST", "PUT"} {
		t.Run(method, func(t *testing.T) {
			f := newFakeCalendar(t)
			c := newConnector(t, f)
			d := newDispatcher(t, c)
			if method == "PUT" {
				conntest.SendMeeting(t, d, conntest.Meeting{Key: "k", Title: "v1", Version: 1})
			}
			f.Inject(calendartest.Fault{Method: method, Lost: true})
			r := conntest.SendMeeting(t, d, conntest.Meeting{Key: "k", Title: "v2", Version: 2})
			if r.Status != synclayer.StatusSynced || r.Attempts != 2 {
				t.Fatalf("%v after %d attempts: %v", r.Status, r.Attempts, r.Err)
			}
			if ev := only(t, f, "k"); ev.Summary != "v2" {
				t.Errorf("summary %q", ev.Summary)
			}
		})
	}
}

func TestBurstOfVersionsLeavesNewest(t *testing.T) {
	f := newFakeCalendar(t)
	d := newDispatcher(t, newConnector(t, f))
	const n = 50
	var wg sync.WaitGroup
	for _, v := range rand.Perm(n) {
		wg.Go(func() {
			r := conntest.SendMeeting(t, d, conntest.Meeting{Key: "standup", Title: fmt.Sprintf("v%d", v+1), Version: int64(v + 1)})
			if r.Status != synclayer.StatusSynced && r.Status != synclayer.StatusStale {
				t.Errorf("version %d: %v %v", v+1, r.Status, r.Err)
			}
		})
	}
	wg.Wait()
	ev := only(t, f, "standup")
	if ev.Summary != fmt.Sprintf("v%d", n) || ev.ExtendedProperties.Private["synclayerVersion"] != strconv.Itoa(n) {
		t.Errorf("final %q version %q", ev.Summary, ev.ExtendedProperties.Private["synclayerVersion"])
	}
}

func TestStaleVersionDoesNotOverwrite(t *testing.T) {
	f := newFakeCalendar(t)
	c := newConnector(t, f)
	conntest.StaleVersion(t, func() *synclayer.Dispatcher { return newDispatcher(t, c) },
		func(d *synclayer.Dispatcher, m conntest.Meeting) synclayer.Result {
			return conntest.SendMeeting(t, d, m)
		},
		func(t *testing.T) {
			if ev := only(t, f, "k"); ev.Summary != "five" || ev.ExtendedProperties.Private["synclayerVersion"] != "5" {
				t.Errorf("stale write landed: %q at version %q", ev.Summary, ev.ExtendedProperties.Private["synclayerVersion"])
			}
		})
}

func TestErrorClasses(t *testing.T) {
	cases := []struct {
		code      int
		reason    string
		retryable bool
		kind      error
	}{
		{429, "rateLimitExceeded", true, partner.ErrRateLimited},
		{403, "rateLimitExceeded", true, partner.ErrRateLimited},
		{403, "userRateLimitExceeded", true, partner.ErrRateLimited},
		{403, "quotaExceeded", true, partner.ErrRateLimited},
		{500, "backendError", true, partner.ErrUnavailable},
		{502, "badGateway", true, partner.ErrUnavailable},
		{503, "backendError", true, partner.ErrUnavailable},
		{504, "gatewayTimeout", true, partner.ErrUnavailable},
		{400, "invalid", false, partner.ErrRejected},
		{400, "timeRangeEmpty", false, partner.ErrRejected},
		{401, "authError", false, partner.ErrUnauthorized},
		{403, "forbiddenForNonOrganizer", false, partner.ErrUnauthorized},
		{403, "forbidden", false, partner.ErrUnauthorized},
		{404, "notFound", false, partner.ErrNotFound},
		{409, "conflict", false, partner.ErrConflict},
	}
	for _, op := range []string{"POST", "GET", "PUT"} {
		for _, tc := range cases {
			if op == "GET" && tc.code == 404 || op == "POST" && tc.code == 409 {
				continue // these mean "absent" and "exists"
			}
			t.Run(fmt.Sprintf("%s/%d-%s", op, tc.code, tc.reason), func(t *testing.T) {
				f := newFakeCalendar(t)
				c := newConnector(t, f)
				if op != "POST" {
					if err := c.Sync(t.Context(), synclayer.Record{Key: "k", Payload: meetingEvent("a")}); err != nil {
						t.Fatal(err)
					}
				}
				f.Inject(calendartest.Fault{Method: op, Code: tc.code, Reason: tc.reason})
				err := c.Sync(t.Context(), synclayer.Record{Key: "k", Payload: meetingEvent("b")})
				var ge *googlecalendar.Error
				if !errors.As(err, &ge) || ge.Code != tc.code || ge.Reasons[0] != tc.reason {
					t.Fatalf("error %v", err)
				}
				conntest.CheckClass(t, err, tc.kind, !tc.retryable)
				want := fmt.Sprintf("googlecalendar: %s event %s (key \"k\") in calendar %q: %d", map[string]string{"POST": "insert", "GET": "get", "PUT": "update"}[op], c.EventID("k"), calID, tc.code)
				if !strings.HasPrefix(err.Error(), want) || !strings.Contains(err.Error(), tc.reason) {
					t.Errorf("text %q, want prefix %q", err, want)
				}
			})
		}
	}
}

func TestRetryAfter(t *testing.T) {
	f := newFakeCalendar(t)
	c := newConnector(t, f)
	f.Inject(calendartest.Fault{Method: "POST", Code: 429, Reason: "rateLimitExceeded", Header: http.Header{"Retry-After": {"9"}}})
	err := c.Sync(t.Context(), synclayer.Record{Key: "k", Payload: meetingEvent("a")})
	if d, ok := synclayertest.RetryAfterHint(err); !ok || d != 9*time.Second {
		t.Errorf("hint %v %v: %v", d, ok, err)
	}
	// Retried by the dispatcher, the event arrives once.
	f.Inject(calendartest.Fault{Method: "POST", Code: 503, Reason: "backendError"}, calendartest.Fault{Method: "GET", Code: 403, Reason: "userRateLimitExceeded"})
	d := newDispatcher(t, c)
	if r := conntest.SendMeeting(t, d, conntest.Meeting{Key: "k2", Title: "x", Version: 1}); r.Status != synclayer.StatusSynced || r.Attempts != 2 {
		t.Errorf("%v after %d: %v", r.Status, r.Attempts, r.Err)
	}
	only(t, f, "k2")
}

func TestDeleteErrors(t *testing.T) {
	f := newFakeCalendar(t)
	c := newConnector(t, f)
	if err := c.Sync(t.Context(), synclayer.Record{Key: "k", Payload: meetingEvent("a")}); err != nil {
		t.Fatal(err)
	}
	// 410 on delete: someone else deleted it meanwhile; done.
	f.Inject(calendartest.Fault{Method: "DELETE", Code: 410, Reason: "deleted"})
	if err := c.Sync(t.Context(), synclayer.Record{Key: "k", Delete: true}); err != nil {
		t.Errorf("410: %v", err)
	}
	f.Inject(calendartest.Fault{Method: "DELETE", Code: 403, Reason: "forbiddenForNonOrganizer"})
	err := c.Sync(t.Context(), synclayer.Record{Key: "k", Delete: true})
	if !synclayer.IsPermanent(err) || !errors.Is(err, partner.ErrUnauthorized) || !strings.Contains(err.Error(), "delete event") {
		t.Errorf("403: %v", err)
	}
	f.Inject(calendartest.Fault{Method: "DELETE", Code: 412, Reason: "conditionNotMet"})
	if err := c.Sync(t.Context(), synclayer.Record{Key: "k", Delete: true}); err != nil {
		t.Errorf("412 then retry: %v", err)
	}
	if len(f.byKey(calID, "k")) != 0 {
		t.Error("not deleted")
	}
}

func TestKeyMismatchIsRefused(t *testing.T) {
	f := newFakeCalendar(t)
	c := newConnector(t, f)
	f.Put(calID, calendar.Event{Id: c.EventID("k"), Summary: "theirs", Start: &calendar.EventDateTime{Date: "2026-01-01"}, End: &calendar.EventDateTime{Date: "2026-01-02"},
		ExtendedProperties: &calendar.EventExtendedProperties{Private: map[string]string{"synclayerKey": "other"}}})
	for _, del := range []bool{false, true} {
		err := c.Sync(t.Context(), synclayer.Record{Key: "k", Delete: del, Payload: meetingEvent("mine")})
		if !errors.Is(err, partner.ErrKeyMismatch) || !synclayer.IsPermanent(err) {
			t.Errorf("delete=%v: %v", del, err)
		}
	}
	if ev, _ := f.Event(calID, c.EventID("k")); ev.Summary != "theirs" || ev.Status != "confirmed" {
		t.Errorf("touched: %+v", ev)
	}
}

func TestNetworkErrorIsRetryable(t *testing.T) {
	f := newFakeCalendar(t)
	c := newConnector(t, f)
	f.srv.Close()
	err := c.Sync(t.Context(), synclayer.Record{Key: "k", Payload: meetingEvent("a")})
	if !errors.Is(err, partner.ErrNetwork) || synclayer.IsPermanent(err) {
		t.Errorf("%v", err)
	}
}

func TestPayloadValidation(t *testing.T) {
	f := newFakeCalendar(t)
	c := newConnector(t, f)
	day := func(d string) *calendar.EventDateTime { return &calendar.EventDateTime{Date: d} }
	at := func(s string) *calendar.EventDateTime { return &calendar.EventDateTime{DateTime: s} }
	cases := []struct {
		name    string
		payload any
		text    string
	}{
		{"wrong type", "meeting", "want a non-nil *calendar.Event"},
		{"nil", (*calendar.Event)(nil), "want a non-nil"},
		{"no start", &calendar.Event{End: day("2026-01-02")}, "needs Start and End"},
		{"mixed", &calendar.Event{Start: day("2026-01-01"), End: at("2026-01-02T10:00:00Z")}, "both be dates"},
		{"same day all-day", &calendar.Event{Start: day("2026-01-01"), End: day("2026-01-01")}, "exclusive"},
		{"bad date", &calendar.Event{Start: day("01/01/2026"), End: day("2026-01-02")}, "yyyy-mm-dd"},
		{"end before start", &calendar.Event{Start: at("2026-01-02T10:00:00Z"), End: at("2026-01-02T09:00:00Z")}, "before its Start"},
		{"bad zone", &calendar.Event{Start: &calendar.EventDateTime{DateTime: "2026-01-02T10:00:00+01:00", TimeZone: "Mars/Olympus"}, End: at("2026-01-02T11:00:00Z")}, "time zone"},
		{"id set", &calendar.Event{Id: "abcdef", Start: day("2026-01-01"), End: day("2026-01-02")}, "leave it empty"},
		{"ical uid", &calendar.Event{ICalUID: "x@y", Start: day("2026-01-01"), End: day("2026-01-02")}, "ICalUID"},
		{"cancelled", &calendar.Event{Status: "cancelled", Start: day("2026-01-01"), End: day("2026-01-02")}, "Record.Delete"},
	}
	for _, tc := range cases {
		err := c.Sync(t.Context(), synclayer.Record{Key: "k", Payload: tc.payload})
		if !errors.Is(err, partner.ErrPayload) || !synclayer.IsPermanent(err) || !strings.Contains(err.Error(), tc.text) {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
	if n := len(f.Log()); n != 0 {
		t.Errorf("%d requests for invalid payloads", n)
	}
	// The caller's event is not changed by the connector.
	ev := meetingEvent("mine")
	if err := c.Sync(t.Context(), synclayer.Record{Key: "k", Version: 1, Payload: ev}); err != nil {
		t.Fatal(err)
	}
	if ev.Id != "" || ev.ExtendedProperties != nil || ev.Status != "" {
		t.Errorf("payload mutated: %+v", ev)
	}
}

func TestConfigValidation(t *testing.T) {
	f := newFakeCalendar(t)
	svc := f.service(t)
	cases := []struct {
		name string
		cfg  googlecalendar.Config
		text string
	}{
		{"no service", googlecalendar.Config{CalendarID: "primary"}, "Service is required"},
		{"empty service", googlecalendar.Config{Service: &calendar.Service{}, CalendarID: "primary"}, "calendar.NewService"},
		{"no calendar", googlecalendar.Config{Service: svc}, "CalendarID is required"},
		{"send updates", googlecalendar.Config{Service: svc, CalendarID: "primary", SendUpdates: "everyone"}, "SendUpdates"},
		{"conflicts", googlecalendar.Config{Service: svc, CalendarID: "primary", MaxConflicts: -1}, "MaxConflicts"},
	}
	for _, tc := range cases {
		if _, err := googlecalendar.New(tc.cfg); err == nil || !errors.Is(err, sloption.ErrInvalid) || !strings.HasPrefix(err.Error(), "googlecalendar: ") || !strings.Contains(err.Error(), tc.text) {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}

func TestNamespaceSeparatesIDs(t *testing.T) {
	if googlecalendar.EventID("a", "bc") == googlecalendar.EventID("ab", "c") {
		t.Error("namespace and key are not separated")
	}
	// The documented derivation, recomputed: lowercase base32hex of
	// SHA-256 over the uvarint length of the namespace, the namespace and
	// the key. Ids already written depend on it never changing.
	sum := sha256.Sum256(append([]byte{byte(len("synclayer"))}, "synclayerWF-1"...))
	want := strings.ToLower(strings.TrimRight(base32.HexEncoding.EncodeToString(sum[:]), "="))
	if got := googlecalendar.EventID("synclayer", "WF-1"); got != want || len(got) != 52 || !googlecalendar.ValidEventID(got) {
		t.Errorf("EventID(synclayer, WF-1) = %q, want %q (52 characters of 0-9, a-v)", got, want)
	}
	if googlecalendar.EventID("synclayer", "k") == googlecalendar.EventID("other", "k") {
		t.Error("namespace ignored")
	}
}

func TestAPIKeyNeverInErrors(t *testing.T) {
	const apiKey = "AIzaSyTEST-secret-0123456789"
	for _, status := range []int{0, 503} {
		f := newFakeCalendar(t)
		if status == 0 {
			f.srv.Close() // connection refused
		} else {
			f.Inject(calendartest.Fault{Code: status, Reason: "backendError"})
		}
		svc, err := calendar.NewService(t.Context(), option.WithEndpoint(f.srv.URL+"/"), option.WithAPIKey(apiKey))
		if err != nil {
			t.Fatal(err)
		}
		c, err := googlecalendar.New(googlecalendar.Config{Service: svc, CalendarID: calID})
		if err != nil {
			t.Fatal(err)
		}
		err = c.Sync(t.Context(), synclayer.Record{Key: "k", Payload: meetingEvent("a")})
		if err == nil || synclayer.IsPermanent(err) || strings.Contains(err.Error(), apiKey) {
			t.Errorf("status %d: %v", status, err)
		}
	}
}

// TestStaleUpsertAfterDelete: a delete writes its version onto the event
// before cancelling it, so an upsert older than the delete (redelivered by
// a process with another idempotency store) finds the cancelled event
// newer and leaves it cancelled; a newer upsert restores it.
func TestStaleUpsertAfterDelete(t *testing.T) {
	f := newFakeCalendar(t)
	c := newConnector(t, f)
	ctx := t.Context()
	if err := c.Sync(ctx, synclayer.Record{Key: "k", Version: 4, Payload: meetingEvent("four")}); err != nil {
		t.Fatal(err)
	}
	if err := c.Sync(ctx, synclayer.Record{Key: "k", Version: 5, Delete: true}); err != nil {
		t.Fatal(err)
	}
	if err := c.Sync(ctx, synclayer.Record{Key: "k", Version: 4, Payload: meetingEvent("four")}); err != nil {
		t.Fatal(err)
	}
	if got := f.byKey(calID, "k"); len(got) != 0 {
		t.Errorf("version 4 restored the event deleted at version 5: %+v", got)
	}
	if err := c.Sync(ctx, synclayer.Record{Key: "k", Version: 6, Payload: meetingEvent("six")}); err != nil {
		t.Fatal(err)
	}
	if ev := only(t, f, "k"); ev.Summary != "six" {
		t.Errorf("summary %q after version 6", ev.Summary)
	}
}
