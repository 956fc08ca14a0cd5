package googlecalendar_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"google.golang.org/api/calendar/v3"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/connectors/googlecalendar"
	"github.com/hmsplatform/synclayer/connectors/googlecalendar/calendartest"
	"github.com/hmsplatform/synclayer/connectors/internal/conntest"
	"github.com/hmsplatform/synclayer/connectors/partner"
)

// TestUpdateAfterPurgeInserts updates an event that Google purges between
// the connector's read and its update: the insert met 409 (the id was
// taken by a cancelled event), the get read it, and the update then
// answers 404, the id being free again. Google takes an insert of a
// purged id (PROTOCOLS.md §1; calendartest.Fake.Remove), so the push must
// not fail for good: the connector reads again, finds nothing and
// inserts, and the calendar holds the event.
func TestUpdateAfterPurgeInserts(t *testing.T) {
	fake, c := purgingCalendar(t, 0, 1)
	id := putCancelled(fake, c, "WF-1")

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

// TestUpdateNotFoundOfAReadableEventFails updates an event whose update
// answers 404 (or 410) while Google still gives the event to a read: it
// was not purged, so inserting again cannot help and reading again only
// meets the same answer. The push fails for good with the update's error
// (ErrNotFound), after one more read, not with a retryable conflict after
// Config.MaxConflicts rounds; the event is left as it was.
func TestUpdateNotFoundOfAReadableEventFails(t *testing.T) {
	for _, tc := range []struct {
		code   int
		reason string
	}{{404, "notFound"}, {410, "deleted"}} {
		t.Run(strconv.Itoa(tc.code), func(t *testing.T) {
			f := newFakeCalendar(t)
			c := newConnector(t, f)
			conntest.Push(t, c, synclayer.Record{Key: "WF-1", Version: 1, Payload: meetingEvent("Review")})
			before := len(f.Log())
			for range 10 {
				f.Inject(calendartest.Fault{Method: http.MethodPut, Code: tc.code, Reason: tc.reason})
			}

			err := c.Sync(t.Context(), synclayer.Record{Key: "WF-1", Version: 2, Payload: meetingEvent("Renamed")})
			conntest.CheckClass(t, err, partner.ErrNotFound, true)
			want := fmt.Sprintf("googlecalendar: update event %s (key \"WF-1\") in calendar %q: %d", c.EventID("WF-1"), calID, tc.code)
			if err == nil || !strings.HasPrefix(err.Error(), want) {
				t.Errorf("Sync = %v, want an error starting %q", err, want)
			}
			if got := methods(f.Log()[before:]); got != "POST GET PUT GET" {
				t.Errorf("requests %q, want insert (409), get, update (%d), get (found): no further rounds", got, tc.code)
			}
			if ev := only(t, f, "WF-1"); ev.Summary != "Review" || ev.ExtendedProperties.Private[googlecalendar.PropertyVersion] != "1" {
				t.Errorf("calendar holds %q at version %q, want the event as it was", ev.Summary, ev.ExtendedProperties.Private[googlecalendar.PropertyVersion])
			}
		})
	}
}

// purgingCalendar is the fake calendar behind a server that purges the
// event a PUT names (calendartest.Fake.Remove) before the fake answers
// that PUT, when it is the purgeOn-th PUT (1 is the first): the purge
// wins the race with that update, which then answers 404. It returns the
// fake and a connector with Config.MaxConflicts maxConflicts (0: the
// default).
func purgingCalendar(t *testing.T, maxConflicts, purgeOn int) (*calendartest.Fake, *googlecalendar.Connector) {
	t.Helper()
	fake := calendartest.New()
	var puts atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut && int(puts.Add(1)) == purgeOn {
			i := strings.LastIndex(r.URL.Path, "/")
			fake.Remove(calID, r.URL.Path[i+1:])
		}
		fake.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	svc, err := fake.Service(t.Context(), srv.URL, srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	c, err := googlecalendar.New(googlecalendar.Config{Service: svc, CalendarID: calID, MaxConflicts: maxConflicts})
	if err != nil {
		t.Fatal(err)
	}
	return fake, c
}

// putCancelled stores the cancelled event "old" of key at version 1, as
// a delete leaves it, and returns its id: an insert of the key meets 409.
func putCancelled(fake *calendartest.Fake, c *googlecalendar.Connector, key string) string {
	id := c.EventID(key)
	fake.Put(calID, calendar.Event{Id: id, Status: "cancelled", Summary: "old",
		Start: &calendar.EventDateTime{Date: "2026-01-01"}, End: &calendar.EventDateTime{Date: "2026-01-02"},
		ExtendedProperties: &calendar.EventExtendedProperties{Private: map[string]string{googlecalendar.PropertyKey: key, googlecalendar.PropertyVersion: "1"}}})
	return id
}
