package caldav_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/emersion/go-ical"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/connectors/caldav"
	"github.com/hmsplatform/synclayer/connectors/internal/conntest"
	"github.com/hmsplatform/synclayer/drift"
	"github.com/hmsplatform/synclayer/internal/caldavtest"
)

// ownedShift is one update of a record whose start or end the partner
// owns: the record is pushed as first, the partner edits the stored
// event, the record is pushed again as moved, and the server must then
// hold wantStart and wantEnd.
type ownedShift struct {
	name         string
	owned        []string // Config.OwnedFields
	first, moved caldav.Event
	edit         func(ev *ical.Component) // the partner's edit
	wantStart    string                   // DTSTART's value
	wantEnd      string                   // DTEND's value, or "DURATION:"+value; "" for neither
}

// testOwnedShifts runs each of tests, as a subtest of its name, on a fresh
// calendar of a real Radicale and a real Xandikos, and checks that Verify
// then finds the moved record in sync.
func testOwnedShifts(t *testing.T, tests []ownedShift) {
	servers(t, func(t *testing.T, srv *caldavtest.Server) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				e := newEnv(t, srv)
				owned, err := caldav.New(caldav.Config{CollectionURL: e.cal, HTTPClient: srv.Client(), OwnedFields: tt.owned})
				if err != nil {
					t.Fatal(err)
				}
				conntest.Push(t, owned, synclayer.Record{Key: "WF-1", Version: 1, Payload: tt.first})
				e.handEdit(t, "WF-1", tt.edit)
				next := synclayer.Record{Key: "WF-1", Version: 2, Payload: tt.moved}
				conntest.Push(t, owned, next)

				ev, _, ok := e.object(t, "WF-1")
				if !ok {
					t.Fatal("no object after the update")
				}
				start := ev.Props.Get(ical.PropDateTimeStart)
				var end string
				if p := ev.Props.Get(ical.PropDateTimeEnd); p != nil {
					end = p.Value
				}
				if p := ev.Props.Get(ical.PropDuration); p != nil {
					end += "DURATION:" + p.Value
				}
				if start == nil || start.Value != tt.wantStart || end != tt.wantEnd {
					t.Errorf("stored DTSTART %v, end %q; want DTSTART %s, end %q", start, end, tt.wantStart, tt.wantEnd)
				}
				conntest.Verify(t, owned, next, drift.InSync)
			})
		}
	})
}

// march is a time on a day of March 2026, on the hour, in UTC.
func march(day, hour int) time.Time { return time.Date(2026, 3, day, hour, 0, 0, 0, time.UTC) }

// partnerTimes is a partner's edit that sets DTSTART to start and DTEND
// to end as DATE-TIMEs; a zero time leaves its property as it is.
func partnerTimes(start, end time.Time) func(ev *ical.Component) {
	return partnerSets(ical.Props.SetDateTime, start, end)
}

// partnerDates is partnerTimes with DATEs.
func partnerDates(start, end time.Time) func(ev *ical.Component) {
	return partnerSets(ical.Props.SetDate, start, end)
}

// partnerSets is a partner's edit that sets DTSTART to start and DTEND to
// end with set; a zero time leaves its property as it is.
func partnerSets(set func(ical.Props, string, time.Time), start, end time.Time) func(ev *ical.Component) {
	return func(ev *ical.Component) {
		if !start.IsZero() {
			set(ev.Props, ical.PropDateTimeStart, start)
		}
		if !end.IsZero() {
			set(ev.Props, ical.PropDateTimeEnd, end)
		}
	}
}

// vtimezone is a VTIMEZONE for tzid at a fixed offset such as "+0100".
func vtimezone(tzid, offset string) string {
	return "BEGIN:VTIMEZONE\r\nTZID:" + tzid + "\r\nBEGIN:STANDARD\r\nDTSTART:19701025T030000\r\nTZOFFSETFROM:" + offset + "\r\nTZOFFSETTO:" + offset + "\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n"
}

// heldObject is version 1 of key k's calendar object as a server holds
// it: zones (VTIMEZONE components) and a VEVENT whose DTSTART and end are
// the lines times.
func heldObject(zones, times string) string {
	return "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//x//y//EN\r\n" + zones +
		"BEGIN:VEVENT\r\nUID:" + caldav.UID(caldav.DefaultNamespace, "k") + "\r\nDTSTAMP:20260301T120000Z\r\n" + times +
		"X-SYNCLAYER-KEY:k\r\nX-SYNCLAYER-VERSION:1\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
}

// putOver syncs version 2 of key k, holding ev, through a connector that
// owns owned, against a stand-in server that holds held (ETag "1") for
// every GET, and returns the body of the PUT the connector sent.
func putOver(t *testing.T, held string, ev caldav.Event, owned ...string) string {
	t.Helper()
	puts := make(chan string, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet:
			w.Header().Set("ETag", `"1"`)
			_, _ = io.WriteString(w, held)
		case http.MethodPut:
			b, _ := io.ReadAll(r.Body)
			puts <- string(b)
			w.WriteHeader(http.StatusNoContent)
		}
	}))
	t.Cleanup(srv.Close)
	c, err := caldav.New(caldav.Config{CollectionURL: srv.URL + "/cal/", OwnedFields: owned, HTTPClient: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Sync(t.Context(), synclayer.Record{Key: "k", Version: 2, Payload: ev}); err != nil {
		t.Fatal(err)
	}
	select {
	case put := <-puts:
		return put
	default:
		t.Fatal("Sync sent no PUT")
		return ""
	}
}
