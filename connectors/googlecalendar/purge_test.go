package googlecalendar_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"google.golang.org/api/calendar/v3"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/connectors/googlecalendar"
	"github.com/hmsplatform/synclayer/connectors/googlecalendar/calendartest"
)

// TestUpdateAfterPurgeInserts updates an event that Google purges between
// the connector's read and its update: the insert met 409 (the id was
// taken by a cancelled event), the get read it, and the update then
// answers 404, the id being free again. Google takes an insert of a
// purged id (PROTOCOLS.md §1; calendartest.Fake.Remove), so the push must
// not fail for good: the connector reads again, finds nothing and
// inserts, and the calendar holds the event.
func TestUpdateAfterPurgeInserts(t *testing.T) {
	fake := calendartest.New()
	var purges atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut && purges.Add(1) == 1 {
			i := strings.LastIndex(r.URL.Path, "/")
			fake.Remove(calID, r.URL.Path[i+1:]) // the purge wins the race
		}
		fake.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	svc, err := fake.Service(t.Context(), srv.URL, srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	c, err := googlecalendar.New(googlecalendar.Config{Service: svc, CalendarID: calID})
	if err != nil {
		t.Fatal(err)
	}
	id := c.EventID("WF-1")
	fake.Put(calID, calendar.Event{Id: id, Status: "cancelled", Summary: "old",
		Start: &calendar.EventDateTime{Date: "2026-01-01"}, End: &calendar.EventDateTime{Date: "2026-01-02"},
		ExtendedProperties: &calendar.EventExtendedProperties{Private: map[string]string{googlecalendar.PropertyKey: "WF-1", googlecalendar.PropertyVersion: "1"}}})

	if err := c.Sync(t.Context(), synclayer.Record{Key: "WF-1", Version: 2, Payload: meetingEvent("Review")}); err != nil {
		t.Fatalf("Sync = %v, want the event inserted again", err)
	}
	ev, ok := fake.Event(calID, id)
	if !ok || ev.Status != "confirmed" || ev.Summary != "Review" || ev.ExtendedProperties.Private[googlecalendar.PropertyVersion] != "2" {
		t.Errorf("calendar holds %+v (found %v), want the confirmed event of version 2", ev, ok)
	}
	if got := methods(fake.Log()); got != "POST GET PUT GET POST" {
		t.Errorf("requests %q, want insert (409), get, update (404), get (404), insert", got)
	}
}
