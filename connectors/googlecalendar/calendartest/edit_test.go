package calendartest_test

import (
	"net/http"
	"testing"

	"google.golang.org/api/calendar/v3"
)

// Edit changes an event and its ETag, so a write conditional on the old
// ETag fails; Remove purges it.
func TestEditAndRemove(t *testing.T) {
	fake, svc, _ := serve(t)
	const cal, id = "c", "abcde12345"
	ins, err := svc.Events.Insert(cal, &calendar.Event{Id: id, Summary: "a", Start: day("2026-03-10"), End: day("2026-03-11")}).Context(t.Context()).Do()
	if err != nil {
		t.Fatal(err)
	}
	if !fake.Edit(cal, id, func(ev *calendar.Event) { ev.Summary = "edited" }) {
		t.Fatal("Edit found no event")
	}
	got, err := svc.Events.Get(cal, id).Context(t.Context()).Do()
	if err != nil || got.Summary != "edited" || got.Etag == ins.Etag {
		t.Fatalf("after Edit: %+v, %v (ETag was %s)", got, err, ins.Etag)
	}
	upd := svc.Events.Update(cal, id, &calendar.Event{Summary: "late", Start: day("2026-03-10"), End: day("2026-03-11")}).Context(t.Context())
	upd.Header().Set("If-Match", ins.Etag)
	if _, err := upd.Do(); !isReason(err, http.StatusPreconditionFailed, "conditionNotMet") {
		t.Errorf("update on the old ETag: %v", err)
	}
	if fake.Edit(cal, "nosuch000", nil) {
		t.Error("Edit of a missing event reported one")
	}
	if !fake.Remove(cal, id) || fake.Remove(cal, id) {
		t.Error("Remove did not report the event, or reported it twice")
	}
	if _, err := svc.Events.Get(cal, id).Context(t.Context()).Do(); !isReason(err, http.StatusNotFound, "notFound") {
		t.Errorf("get after Remove: %v", err)
	}
}

func isReason(err error, code int, r string) bool {
	c, got := reason(err)
	return c == code && got == r
}
