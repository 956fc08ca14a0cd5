package calendartest_test

import (
	"net/http"
	"slices"
	"testing"

	"google.golang.org/api/calendar/v3"

	"github.com/hmsplatform/synclayer/connectors/googlecalendar/calendartest"
)

// An injected fault answers one matching request instead of the store, a
// lost answer still applies the request, and Put and Log show the state
// and the traffic.
func TestFaults(t *testing.T) {
	fake, svc, _ := serve(t)
	fake.Put("c", calendar.Event{Id: "theirs0001", Summary: "theirs", Start: day("2024-07-01"), End: day("2024-07-02")})
	if ev, ok := fake.Event("c", "theirs0001"); !ok || ev.Status != "confirmed" || ev.Etag == "" {
		t.Fatalf("Put stored %+v, %v", ev, ok)
	}

	fake.Inject(calendartest.Fault{Method: http.MethodGet, Code: 503, Reason: "backendError"},
		calendartest.Fault{Method: http.MethodPost, Code: 429, Reason: "rateLimitExceeded", Header: http.Header{"Retry-After": {"7"}}})
	ev := &calendar.Event{Id: "mine000001", Summary: "s", Start: day("2024-07-01"), End: day("2024-07-02")}
	_, err := svc.Events.Insert("c", ev).Do()
	if c, r := reason(err); c != 429 || r != "rateLimitExceeded" {
		t.Fatalf("insert = %v, want the injected 429", err)
	}
	if _, ok := fake.Event("c", "mine000001"); ok {
		t.Fatal("a request answered by a fault was applied")
	}
	if _, err := svc.Events.Get("c", "theirs0001").Do(); func() bool { c, r := reason(err); return c != 503 || r != "backendError" }() {
		t.Fatalf("get = %v, want the injected 503", err)
	}
	if _, err := svc.Events.Get("c", "theirs0001").Do(); err != nil {
		t.Fatalf("a fault answered twice: %v", err)
	}

	fake.Inject(calendartest.Fault{Lost: true})
	if _, err := svc.Events.Insert("c", ev).Do(); err == nil {
		t.Fatal("insert with a lost answer succeeded")
	}
	if got, ok := fake.Event("c", "mine000001"); !ok || got.Summary != "s" {
		t.Fatalf("the lost insert was not applied: %+v", got)
	}

	want := []string{"POST mine000001", "GET theirs0001", "GET theirs0001", "POST mine000001"}
	if got := fake.Log(); !slices.Equal(got, want) {
		t.Errorf("Log = %q, want %q", got, want)
	}
	fake.ResetLog()
	if len(fake.Log()) != 0 || fake.Requests() != 4 {
		t.Errorf("after ResetLog: log %q, %d requests; want none logged and 4 counted", fake.Log(), fake.Requests())
	}
}
