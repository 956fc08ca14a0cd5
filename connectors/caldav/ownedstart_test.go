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

// TestOwnedStartKeepsTheRecordsLength: with DTSTART owned by the
// partner, an update keeps the start the server holds; the record's end
// must then follow the kept start, keeping the record's length, or the
// VEVENT could end before it starts, which RFC 5545 §3.6.1 forbids. A
// kept start of the other value type than the record's (a DATE against
// a time) cannot carry the record's end, and the record's start is
// written instead. With DTEND owned too, both are kept as they are.
func TestOwnedStartKeepsTheRecordsLength(t *testing.T) {
	at := func(day, hour int) time.Time { return time.Date(2026, 3, day, hour, 0, 0, 0, time.UTC) }
	tests := []struct {
		name         string
		owned        []string
		first, moved caldav.Event
		edit         func(ev *ical.Component) // the partner's edit
		wantStart    string
		wantEnd      string // DTEND's value, "" for none
	}{
		{
			name:  "timed, moved later by the partner, extended by the record",
			owned: []string{"DTSTART"},
			first: caldav.Event{Summary: "Review", Start: at(10, 9), End: at(10, 10)},
			moved: caldav.Event{Summary: "Review", Start: at(10, 9), End: at(10, 11)},
			edit: func(ev *ical.Component) {
				ev.Props.SetDateTime(ical.PropDateTimeStart, at(10, 12))
				ev.Props.SetDateTime(ical.PropDateTimeEnd, at(10, 13))
			},
			wantStart: "20260310T120000Z", wantEnd: "20260310T140000Z",
		},
		{
			name:  "timed, moved earlier by the partner, moved by the record",
			owned: []string{"DTSTART"},
			first: caldav.Event{Summary: "Review", Start: at(10, 9), End: at(10, 10)},
			moved: caldav.Event{Summary: "Review", Start: at(11, 9), End: at(11, 10)},
			edit: func(ev *ical.Component) {
				ev.Props.SetDateTime(ical.PropDateTimeStart, at(9, 8))
				ev.Props.SetDateTime(ical.PropDateTimeEnd, at(9, 9))
			},
			wantStart: "20260309T080000Z", wantEnd: "20260309T090000Z",
		},
		{
			name:  "timed, no end in the record",
			owned: []string{"DTSTART"},
			first: caldav.Event{Summary: "Review", Start: at(10, 9)},
			moved: caldav.Event{Summary: "Review", Start: at(10, 7)},
			edit: func(ev *ical.Component) {
				ev.Props.SetDateTime(ical.PropDateTimeStart, at(10, 12))
			},
			wantStart: "20260310T120000Z", wantEnd: "",
		},
		{
			name:  "all-day, moved by the partner, longer in the record",
			owned: []string{"DTSTART"},
			first: caldav.Event{Summary: "Fair", Start: at(10, 0), AllDay: true},
			moved: caldav.Event{Summary: "Fair", Start: at(10, 0), End: at(13, 0), AllDay: true},
			edit: func(ev *ical.Component) {
				ev.Props.SetDate(ical.PropDateTimeStart, at(20, 0))
				ev.Props.SetDate(ical.PropDateTimeEnd, at(21, 0))
			},
			wantStart: "20260320", wantEnd: "20260323",
		},
		{
			name:  "all-day at the partner, made timed by the record",
			owned: []string{"DTSTART"},
			first: caldav.Event{Summary: "Fair", Start: at(10, 0), AllDay: true},
			moved: caldav.Event{Summary: "Fair", Start: at(10, 9), End: at(10, 10)},
			edit: func(ev *ical.Component) {
				ev.Props.SetDate(ical.PropDateTimeStart, at(12, 0))
				ev.Props.SetDate(ical.PropDateTimeEnd, at(13, 0))
			},
			wantStart: "20260310T090000Z", wantEnd: "20260310T100000Z",
		},
		{
			name:  "timed at the partner, made all-day by the record",
			owned: []string{"DTSTART"},
			first: caldav.Event{Summary: "Fair", Start: at(10, 9), End: at(10, 10)},
			moved: caldav.Event{Summary: "Fair", Start: at(10, 0), End: at(12, 0), AllDay: true},
			edit: func(ev *ical.Component) {
				ev.Props.SetDateTime(ical.PropDateTimeStart, at(14, 9))
				ev.Props.SetDateTime(ical.PropDateTimeEnd, at(14, 10))
			},
			wantStart: "20260310", wantEnd: "20260312",
		},
		{
			name:  "start and end both owned",
			owned: []string{"DTSTART", "DTEND"},
			first: caldav.Event{Summary: "Review", Start: at(10, 9), End: at(10, 10)},
			moved: caldav.Event{Summary: "Review", Start: at(11, 14), End: at(11, 15)},
			edit: func(ev *ical.Component) {
				ev.Props.SetDateTime(ical.PropDateTimeStart, at(10, 8))
				ev.Props.SetDateTime(ical.PropDateTimeEnd, at(10, 12))
			},
			wantStart: "20260310T080000Z", wantEnd: "20260310T120000Z",
		},
		{
			name:  "start and end both owned, all-day made timed by the record",
			owned: []string{"DTSTART", "DTEND"},
			first: caldav.Event{Summary: "Fair", Start: at(10, 0), AllDay: true},
			moved: caldav.Event{Summary: "Fair", Start: at(10, 9), End: at(10, 10)},
			edit: func(ev *ical.Component) {
				ev.Props.SetDate(ical.PropDateTimeEnd, at(12, 0))
			},
			wantStart: "20260310", wantEnd: "20260312",
		},
	}
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
				if start == nil || start.Value != tt.wantStart || end != tt.wantEnd {
					t.Errorf("stored DTSTART %v, DTEND %q; want DTSTART %s, DTEND %q", start, end, tt.wantStart, tt.wantEnd)
				}
				conntest.Verify(t, owned, next, drift.InSync)
			})
		}
	})
}

// TestOwnedStartMovedAtThePartner: with DTSTART owned, the record owns
// the event's length. A partner that moves the whole event (a calendar
// client dragging it: start and end by as much) is in sync; one that
// moves only the start leaves the end off by as much, which Verify finds
// and Repair moves, keeping the partner's start.
func TestOwnedStartMovedAtThePartner(t *testing.T) {
	at := func(hour int) time.Time { return time.Date(2026, 3, 10, hour, 0, 0, 0, time.UTC) }
	servers(t, func(t *testing.T, srv *caldavtest.Server) {
		for _, tt := range []struct {
			name string
			edit func(ev *ical.Component)
			diff bool // Verify finds DTEND off
		}{
			{name: "dragged", edit: func(ev *ical.Component) {
				ev.Props.SetDateTime(ical.PropDateTimeStart, at(12))
				ev.Props.SetDateTime(ical.PropDateTimeEnd, at(13))
			}},
			{name: "start only", edit: func(ev *ical.Component) {
				ev.Props.SetDateTime(ical.PropDateTimeStart, at(12))
			}, diff: true},
		} {
			t.Run(tt.name, func(t *testing.T) {
				e := newEnv(t, srv)
				owned, err := caldav.New(caldav.Config{CollectionURL: e.cal, HTTPClient: srv.Client(), OwnedFields: []string{"DTSTART"}})
				if err != nil {
					t.Fatal(err)
				}
				rec := synclayer.Record{Key: "WF-1", Version: 1, Payload: caldav.Event{Summary: "Review", Start: at(9), End: at(10)}}
				conntest.Push(t, owned, rec)
				e.handEdit(t, "WF-1", tt.edit)
				if !tt.diff {
					conntest.Verify(t, owned, rec, drift.InSync)
					return
				}
				v := conntest.Verify(t, owned, rec, drift.Differs, ical.PropDateTimeEnd)
				if err := owned.Repair(t.Context(), rec, v); err != nil {
					t.Fatal(err)
				}
				ev, _, _ := e.object(t, "WF-1")
				start, end := ev.Props.Get(ical.PropDateTimeStart), ev.Props.Get(ical.PropDateTimeEnd)
				if start == nil || start.Value != "20260310T120000Z" || end == nil || end.Value != "20260310T130000Z" {
					t.Errorf("after Repair DTSTART %v, DTEND %v; want 12:00Z to 13:00Z", start, end)
				}
				conntest.Verify(t, owned, rec, drift.InSync)
			})
		}
	})
}

// TestOwnedStartInItsZoneKeepsTheRecordsLength: a kept DTSTART written
// in a time zone stays as written, with its VTIMEZONE, and the record's
// end follows it by the record's length. A kept start that cannot carry
// the record's end (none, or in a zone Go does not know) gives way to the
// record's start.
func TestOwnedStartInItsZoneKeepsTheRecordsLength(t *testing.T) {
	const zone = "BEGIN:VTIMEZONE\r\nTZID:Europe/Berlin\r\nBEGIN:STANDARD\r\nDTSTART:19701025T030000\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0100\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n"
	tests := []struct {
		name, start string   // the held DTSTART line
		want        []string // lines the PUT must hold
		zones       int      // VTIMEZONEs the PUT must hold
	}{
		{
			// The record: 09:00Z to 11:00Z, two hours; the kept start
			// is 15:00 Berlin (14:00Z), so the end is 16:00Z.
			name:  "Berlin",
			start: "DTSTART;TZID=Europe/Berlin:20260310T150000\r\n",
			want:  []string{"DTSTART;TZID=Europe/Berlin:20260310T150000\r\n", "DTEND:20260310T160000Z\r\n"},
			zones: 1,
		},
		{
			name:  "no start held",
			want:  []string{"DTSTART:20260310T090000Z\r\n", "DTEND:20260310T110000Z\r\n"},
			zones: 0,
		},
		{
			name:  "a zone Go does not know",
			start: "DTSTART;TZID=Mars/Olympus:20260310T150000\r\n",
			want:  []string{"DTSTART:20260310T090000Z\r\n", "DTEND:20260310T110000Z\r\n"},
			zones: 0,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			held := "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//x//y//EN\r\n" + zone +
				"BEGIN:VEVENT\r\nUID:" + caldav.UID(caldav.DefaultNamespace, "k") + "\r\nDTSTAMP:20260301T120000Z\r\n" + tt.start +
				"DTEND:20260310T150000Z\r\nX-SYNCLAYER-KEY:k\r\nX-SYNCLAYER-VERSION:1\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
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
			c, err := caldav.New(caldav.Config{CollectionURL: srv.URL + "/cal/", OwnedFields: []string{"DTSTART"}, HTTPClient: srv.Client()})
			if err != nil {
				t.Fatal(err)
			}
			rec := synclayer.Record{Key: "k", Version: 2, Payload: caldav.Event{Summary: "s",
				Start: time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC), End: time.Date(2026, 3, 10, 11, 0, 0, 0, time.UTC)}}
			if err := c.Sync(t.Context(), rec); err != nil {
				t.Fatal(err)
			}
			put := <-puts
			for _, line := range tt.want {
				if !strings.Contains(put, line) {
					t.Errorf("PUT body lacks %q:\n%s", line, put)
				}
			}
			if n := strings.Count(put, "BEGIN:VTIMEZONE"); n != tt.zones {
				t.Errorf("PUT body holds %d VTIMEZONEs, want %d:\n%s", n, tt.zones, put)
			}
		})
	}
}
