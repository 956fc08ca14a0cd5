package caldav_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/emersion/go-ical"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/connectors/caldav"
	"github.com/hmsplatform/synclayer/connectors/internal/conntest"
	"github.com/hmsplatform/synclayer/connectors/partner"
	"github.com/hmsplatform/synclayer/internal/caldavtest"
)

// recurring is a calendar object as a client leaves it after a user moved
// one occurrence of a weekly event the connector wrote: the override
// (RECURRENCE-ID) first, without the connector's properties, then the
// master, whose X-SYNCLAYER-VERSION is masterVersion. overrideKey, if set,
// is an X-SYNCLAYER-KEY the override carries.
func recurring(uid, key, overrideKey, masterVersion string) string {
	lines := []string{
		"BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//example//client//EN",
		"BEGIN:VEVENT", "UID:" + uid, "DTSTAMP:20260305T080000Z",
		"RECURRENCE-ID:20260317T090000Z", "DTSTART:20260317T140000Z", "DTEND:20260317T150000Z",
		"SUMMARY:Weekly sync (moved)",
	}
	if overrideKey != "" {
		lines = append(lines, "X-SYNCLAYER-KEY:"+overrideKey)
	}
	lines = append(lines, "END:VEVENT",
		"BEGIN:VEVENT", "UID:"+uid, "DTSTAMP:20260301T120000Z",
		"DTSTART:20260310T090000Z", "DTEND:20260310T100000Z", "RRULE:FREQ=WEEKLY;COUNT=4",
		"SUMMARY:Weekly sync", "X-SYNCLAYER-KEY:"+key, "X-SYNCLAYER-VERSION:"+masterVersion,
		"END:VEVENT", "END:VCALENDAR", "")
	return strings.Join(lines, "\r\n")
}

// TestRecurringWithOverrides plants, on real servers, objects holding a
// recurring event's master and an override listed before it, and checks
// that the connector reads the object as a whole: an older version does
// not replace it, a newer one does, and an override naming another key is
// a key mismatch.
func TestRecurringWithOverrides(t *testing.T) {
	servers(t, func(t *testing.T, srv *caldavtest.Server) {
		e := newEnv(t, srv)
		d := newDispatcher(t, e.conn)
		const key = "WF-rec"
		uid := caldav.UID(caldav.DefaultNamespace, key)
		srv.Put(t, e.conn.ObjectURL(key), recurring(uid, key, "", "5"))
		body, _, _ := srv.Get(t, e.conn.ObjectURL(key))
		cal, err := ical.NewDecoder(strings.NewReader(body)).Decode()
		if err != nil {
			t.Fatalf("the planted object does not parse: %v\n%s", err, body)
		}
		if evs := cal.Events(); len(evs) != 2 || evs[0].Props.Get(ical.PropRecurrenceID) == nil {
			t.Fatalf("the server does not serve the override first; the test proves less than it says:\n%s", body)
		}

		// Version 3 is older than the master's 5: nothing is written.
		e.tr.log.Reset()
		if r := conntest.SendMeeting(t, d, conntest.Meeting{Key: key, Title: "old", Version: 3}); r.Status != synclayer.StatusSynced || r.Err != nil {
			t.Fatalf("older version: %v %v", r.Status, r.Err)
		}
		if log := e.tr.log.Lines(); len(log) != 1 || log[0] != "GET 200" {
			t.Errorf("older version: requests %q, want only the GET", log)
		}
		if after, _, _ := srv.Get(t, e.conn.ObjectURL(key)); after != body {
			t.Errorf("older version replaced the object:\n%s", after)
		}

		// Version 7 is newer: the object becomes the connector's single event.
		if r := conntest.SendMeeting(t, d, conntest.Meeting{Key: key, Title: "new", Version: 7}); r.Status != synclayer.StatusSynced || r.Err != nil {
			t.Fatalf("newer version: %v %v", r.Status, r.Err)
		}
		ev, _, ok := e.object(t, key) // fails unless exactly one VEVENT
		if !ok || text(t, ev, caldav.PropVersion) != "7" || text(t, ev, ical.PropSummary) != "new" {
			t.Errorf("after the newer version: %v", ev)
		}

		// An override naming another key: the object is not this key's.
		srv.Put(t, e.conn.ObjectURL(key), recurring(uid, key, "WF-other", "9"))
		r := conntest.SendMeeting(t, d, conntest.Meeting{Key: key, Title: "x", Version: 10})
		if r.Status != synclayer.StatusFailed || !errors.Is(r.Err, partner.ErrKeyMismatch) || !synclayer.IsPermanent(r.Err) {
			t.Errorf("override of another key: %v %v, want a permanent ErrKeyMismatch", r.Status, r.Err)
		}
	})
}
