package calendartest_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"google.golang.org/api/calendar/v3"
	"google.golang.org/api/googleapi"

	"github.com/hmsplatform/synclayer/connectors/googlecalendar/calendartest"
)

func reason(err error) (int, string) {
	var ge *googleapi.Error
	if !errors.As(err, &ge) || len(ge.Errors) == 0 {
		return 0, ""
	}
	return ge.Code, ge.Errors[0].Reason
}

// serve starts a fake and returns it, the official client pointed at it and
// its server.
func serve(t *testing.T) (*calendartest.Fake, *calendar.Service, *httptest.Server) {
	t.Helper()
	fake := calendartest.New()
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	svc, err := fake.Service(t.Context(), srv.URL, srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	return fake, svc, srv
}

func day(d string) *calendar.EventDateTime { return &calendar.EventDateTime{Date: d} }

// The fake answers the official client as the Calendar API documents.
func TestFakeFollowsTheAPI(t *testing.T) {
	fake, svc, srv := serve(t)
	ev := &calendar.Event{Id: "abcdef0123", Summary: "s", Start: day("2024-07-01"), End: day("2024-07-02")}
	got, err := svc.Events.Insert("c", ev).Do()
	if err != nil || got.Status != "confirmed" || got.Etag == "" {
		t.Fatalf("insert = %+v, %v", got, err)
	}
	if _, err := svc.Events.Insert("c", ev).Do(); func() bool { c, r := reason(err); return c != 409 || r != "duplicate" }() {
		t.Fatalf("second insert = %v, want 409 duplicate", err)
	}
	bad := &calendar.Event{Id: "UPPER_case", Start: day("2024-07-01"), End: day("2024-07-02")}
	if _, err := svc.Events.Insert("c", bad).Do(); func() bool { c, _ := reason(err); return c != 400 }() {
		t.Fatalf("insert with an invalid id = %v, want 400", err)
	}
	upd := *got
	upd.Summary = "t"
	call := svc.Events.Update("c", got.Id, &upd)
	call.Header().Set("If-Match", `"stale"`)
	if _, err := call.Do(); func() bool { c, r := reason(err); return c != 412 || r != "conditionNotMet" }() {
		t.Fatalf("update with a stale ETag = %v, want 412 conditionNotMet", err)
	}
	if err := svc.Events.Delete("c", got.Id).Do(); err != nil {
		t.Fatal(err)
	}
	if err := svc.Events.Delete("c", got.Id).Do(); func() bool { c, r := reason(err); return c != 410 || r != "deleted" }() {
		t.Fatalf("second delete = %v, want 410 deleted", err)
	}
	if e, _ := fake.Event("c", got.Id); e.Status != "cancelled" {
		t.Fatalf("deleted event status %q, want cancelled (it keeps its id)", e.Status)
	}
	if _, err := svc.Events.Insert("c", ev).Do(); func() bool { c, _ := reason(err); return c != 409 }() {
		t.Fatalf("insert over a cancelled event = %v, want 409", err)
	}
	resp, err := srv.Client().Get(srv.URL + "/nowhere")
	if err != nil || resp.StatusCode != http.StatusNotFound {
		t.Fatalf("unknown path: %v, %v", resp, err)
	}
	resp.Body.Close()
}
