package caldav_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-ical"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/connectors/caldav"
	"github.com/hmsplatform/synclayer/connectors/internal/conntest"
	"github.com/hmsplatform/synclayer/drift"
	"github.com/hmsplatform/synclayer/internal/caldavtest"
)

// TestOwnedEndFollowsAMovedStart: with DTEND owned by the partner, an
// update keeps the end the server holds; when the record moves DTSTART,
// the kept DTEND must move with it, keeping the event's length (as a
// calendar client moves an event), or the VEVENT would end before it
// starts, which RFC 5545 §3.6.1 forbids (and which Radicale and Xandikos
// store anyway). A kept DURATION stays as it is; a kept end of the other
// value type (DATE against a DATE-TIME start) cannot be kept, and the
// record's end is written instead.
func TestOwnedEndFollowsAMovedStart(t *testing.T) {
	at := func(day, hour int) time.Time { return time.Date(2026, 3, day, hour, 0, 0, 0, time.UTC) }
	tests := []struct {
		name         string
		first, moved caldav.Event
		edit         func(ev *ical.Component) // the partner's edit of the end
		wantStart    string
		wantEnd      string // DTEND's value, or "DURATION:"+value
	}{
		{
			name:  "timed, end extended by the partner",
			first: caldav.Event{Summary: "Review", Start: at(10, 9), End: at(10, 10)},
			moved: caldav.Event{Summary: "Review", Start: at(10, 14)},
			edit: func(ev *ical.Component) {
				ev.Props.SetDateTime(ical.PropDateTimeEnd, at(10, 11))
			},
			wantStart: "20260310T140000Z", wantEnd: "20260310T160000Z",
		},
		{
			name:  "timed, moved earlier",
			first: caldav.Event{Summary: "Review", Start: at(10, 9), End: at(10, 10)},
			moved: caldav.Event{Summary: "Review", Start: at(9, 8), End: at(9, 9)},
			edit: func(ev *ical.Component) {
				ev.Props.SetDateTime(ical.PropDateTimeEnd, at(10, 12))
			},
			wantStart: "20260309T080000Z", wantEnd: "20260309T110000Z",
		},
		{
			name:  "all-day, end extended by the partner",
			first: caldav.Event{Summary: "Fair", Start: at(10, 0), AllDay: true},
			moved: caldav.Event{Summary: "Fair", Start: at(20, 0), AllDay: true},
			edit: func(ev *ical.Component) {
				ev.Props.SetDate(ical.PropDateTimeEnd, at(13, 0))
			},
			wantStart: "20260320", wantEnd: "20260323",
		},
		{
			name:  "the partner's DURATION",
			first: caldav.Event{Summary: "Review", Start: at(10, 9), End: at(10, 10)},
			moved: caldav.Event{Summary: "Review", Start: at(10, 14)},
			edit: func(ev *ical.Component) {
				ev.Props.Del(ical.PropDateTimeEnd)
				ev.Props.Set(&ical.Prop{Name: ical.PropDuration, Params: ical.Params{}, Value: "PT2H"})
			},
			wantStart: "20260310T140000Z", wantEnd: "DURATION:PT2H",
		},
		{
			name:  "all-day made timed",
			first: caldav.Event{Summary: "Fair", Start: at(10, 0), AllDay: true},
			moved: caldav.Event{Summary: "Fair", Start: at(10, 9), End: at(10, 10)},
			edit: func(ev *ical.Component) {
				ev.Props.SetDate(ical.PropDateTimeEnd, at(13, 0))
			},
			wantStart: "20260310T090000Z", wantEnd: "20260310T100000Z",
		},
	}
	servers(t, func(t *testing.T, srv *caldavtest.Server) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				e := newEnv(t, srv)
				owned, err := caldav.New(caldav.Config{CollectionURL: e.cal, HTTPClient: srv.Client(), OwnedFields: []string{"DTEND"}})
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
					t.Errorf("stored DTSTART %v, end %q; want DTSTART %s, end %s", start, end, tt.wantStart, tt.wantEnd)
				}
				conntest.Verify(t, owned, next, drift.InSync)
			})
		}
	})
}

// TestOwnedEndInItsZoneFollowsAMovedStart: a kept DTEND written in a time
// zone moves in that zone, and brings its VTIMEZONE along.
func TestOwnedEndInItsZoneFollowsAMovedStart(t *testing.T) {
	held := "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//x//y//EN\r\n" +
		"BEGIN:VTIMEZONE\r\nTZID:Europe/Berlin\r\nBEGIN:STANDARD\r\nDTSTART:19701025T030000\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0100\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n" +
		"BEGIN:VEVENT\r\nUID:" + caldav.UID(caldav.DefaultNamespace, "k") + "\r\nDTSTAMP:20260301T120000Z\r\nDTSTART:20260310T090000Z\r\n" +
		"DTEND;TZID=Europe/Berlin:20260310T120000\r\nX-SYNCLAYER-KEY:k\r\nX-SYNCLAYER-VERSION:1\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
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
	defer srv.Close()
	c, err := caldav.New(caldav.Config{CollectionURL: srv.URL + "/cal/", OwnedFields: []string{"DTEND"}, HTTPClient: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	// 09:00Z to 12:00 Berlin (11:00Z) is two hours; the start moves to 14:00Z.
	if err := c.Sync(t.Context(), synclayer.Record{Key: "k", Version: 2, Payload: caldav.Event{Summary: "s", Start: time.Date(2026, 3, 10, 14, 0, 0, 0, time.UTC)}}); err != nil {
		t.Fatal(err)
	}
	put := <-puts
	if !strings.Contains(put, "DTSTART:20260310T140000Z\r\n") || !strings.Contains(put, "DTEND;TZID=Europe/Berlin:20260310T170000\r\n") {
		t.Errorf("want DTSTART 14:00Z and DTEND 17:00 Berlin (16:00Z):\n%s", put)
	}
	if strings.Count(put, "BEGIN:VTIMEZONE") != 1 || !strings.Contains(put, "TZID:Europe/Berlin\r\n") {
		t.Errorf("PUT body should hold the VTIMEZONE of Europe/Berlin:\n%s", put)
	}
}
