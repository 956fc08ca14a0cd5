package googlecalendar_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/connectors/googlecalendar"
	"github.com/hmsplatform/synclayer/connectors/googlecalendar/calendartest"
	"github.com/hmsplatform/synclayer/connectors/internal/conntest"
	"github.com/hmsplatform/synclayer/connectors/partner"
)

// conflicts returns n injected 412 answers to updates, as a calendar
// edited by someone else between each read and update gives.
func conflicts(n int) []calendartest.Fault {
	out := make([]calendartest.Fault, n)
	for i := range out {
		out[i] = calendartest.Fault{Method: http.MethodPut, Code: 412, Reason: "conditionNotMet"}
	}
	return out
}

// TestUpdateAfterPurgeOnLastRoundInserts is TestUpdateAfterPurgeInserts
// with the purge racing the last of Config.MaxConflicts updates, the
// rounds before meeting 412. The 404 of that update means the same as on
// an earlier round: the connector reads once more, finds nothing and
// inserts, rather than reporting the retryable "changed concurrently"
// conflict, which would only send the push back for a later try.
func TestUpdateAfterPurgeOnLastRoundInserts(t *testing.T) {
	for _, tc := range []struct {
		maxConflicts int
		want         string
	}{
		{1, "POST GET PUT GET POST"},
		{2, "POST GET PUT GET PUT GET POST"},
		{3, "POST GET PUT GET PUT GET PUT GET POST"},
	} {
		t.Run(fmt.Sprint("MaxConflicts=", tc.maxConflicts), func(t *testing.T) {
			fake, c := purgingCalendar(t, tc.maxConflicts, tc.maxConflicts)
			id := putCancelled(fake, c, "WF-1")
			fake.Inject(conflicts(tc.maxConflicts - 1)...)

			if err := c.Sync(t.Context(), synclayer.Record{Key: "WF-1", Version: 2, Payload: meetingEvent("Review")}); err != nil {
				t.Fatalf("Sync = %v, want the event inserted again", err)
			}
			ev, ok := fake.Event(calID, id)
			if !ok || ev.Status != "confirmed" || ev.Summary != "Review" || ev.ExtendedProperties.Private[googlecalendar.PropertyVersion] != "2" {
				t.Errorf("calendar holds %+v (found %v), want the confirmed event of version 2", ev, ok)
			}
			if got := methods(fake.Log()); got != tc.want {
				t.Errorf("requests %q, want %q: insert (409), get and update (412) until the last update (404), get (404), insert", got, tc.want)
			}
		})
	}
}

// TestUpdateNotFoundOnLastRoundOfAReadableEventFails is
// TestUpdateNotFoundOfAReadableEventFails with the 404 (or 410) on the
// last of Config.MaxConflicts updates: the read after it still finds the
// event, so it was not purged and is not inserted a second time; the push
// fails for good with the update's error, as on an earlier round.
func TestUpdateNotFoundOnLastRoundOfAReadableEventFails(t *testing.T) {
	for _, tc := range []struct {
		maxConflicts int
		code         int
		reason       string
		want         string
	}{
		{1, 404, "notFound", "POST GET PUT GET"},
		{2, 404, "notFound", "POST GET PUT GET PUT GET"},
		{2, 410, "deleted", "POST GET PUT GET PUT GET"},
	} {
		t.Run(fmt.Sprint("MaxConflicts=", tc.maxConflicts, "/", tc.code), func(t *testing.T) {
			f := newFakeCalendar(t)
			c, err := googlecalendar.New(googlecalendar.Config{Service: f.service(t), CalendarID: calID, MaxConflicts: tc.maxConflicts})
			if err != nil {
				t.Fatal(err)
			}
			conntest.Push(t, c, synclayer.Record{Key: "WF-1", Version: 1, Payload: meetingEvent("Review")})
			before := len(f.Log())
			f.Inject(conflicts(tc.maxConflicts - 1)...)
			f.Inject(calendartest.Fault{Method: http.MethodPut, Code: tc.code, Reason: tc.reason})

			err = c.Sync(t.Context(), synclayer.Record{Key: "WF-1", Version: 2, Payload: meetingEvent("Renamed")})
			conntest.CheckClass(t, err, partner.ErrNotFound, true)
			want := fmt.Sprintf("googlecalendar: update event %s (key \"WF-1\") in calendar %q: %d", c.EventID("WF-1"), calID, tc.code)
			if err == nil || !strings.HasPrefix(err.Error(), want) {
				t.Errorf("Sync = %v, want an error starting %q", err, want)
			}
			if got := methods(f.Log()[before:]); got != tc.want {
				t.Errorf("requests %q, want %q: the last update (%d), then one get (found), no insert", got, tc.want, tc.code)
			}
			if ev := only(t, f, "WF-1"); ev.Summary != "Review" || ev.ExtendedProperties.Private[googlecalendar.PropertyVersion] != "1" {
				t.Errorf("calendar holds %q at version %q, want the event as it was", ev.Summary, ev.ExtendedProperties.Private[googlecalendar.PropertyVersion])
			}
		})
	}
}

// TestConflictOnEveryRoundEnds checks that the rounds stay bounded: a
// 412 on every one of Config.MaxConflicts updates ends in the retryable
// conflict after exactly that many reads and updates, with no read after
// the last; and an event purged at the first update that someone else's
// insert (409) takes back every time the connector inserts, while the
// connector's reads find nothing, ends in the same conflict after
// MaxConflicts rounds, and one more read and insert when the purge was
// on the last round.
func TestConflictOnEveryRoundEnds(t *testing.T) {
	for _, tc := range []struct {
		name         string
		maxConflicts int
		purge        bool // purge at the first update, then every insert meets 409 and every read 404
		want         string
	}{
		{"412/MaxConflicts=1", 1, false, "POST GET PUT"},
		{"412/MaxConflicts=3", 3, false, "POST GET PUT GET PUT GET PUT"},
		{"purged/MaxConflicts=1", 1, true, "POST GET PUT GET POST"},
		{"purged/MaxConflicts=3", 3, true, "POST GET PUT GET POST GET POST"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			purgeOn := 0
			if tc.purge {
				purgeOn = 1
			}
			fake, c := purgingCalendar(t, tc.maxConflicts, purgeOn)
			conntest.Push(t, c, synclayer.Record{Key: "WF-1", Version: 1, Payload: meetingEvent("Review")})
			fake.ResetLog()
			if tc.purge {
				for range tc.maxConflicts + 1 {
					fake.Inject(calendartest.Fault{Method: http.MethodPost, Code: 409, Reason: "duplicate"})
				}
			} else {
				fake.Inject(conflicts(tc.maxConflicts)...)
			}

			err := c.Sync(t.Context(), synclayer.Record{Key: "WF-1", Version: 2, Payload: meetingEvent("Renamed")})
			if conntest.CheckClass(t, err, partner.ErrConflict, false) {
				if want := fmt.Sprintf("changed concurrently %d times in a row", tc.maxConflicts); !strings.Contains(err.Error(), want) {
					t.Errorf("Sync = %v, want it to say %q", err, want)
				}
			}
			if got := methods(fake.Log()); got != tc.want {
				t.Errorf("requests %q, want %q", got, tc.want)
			}
		})
	}
}
