package caldav_test

import (
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
	start, both := []string{"DTSTART"}, []string{"DTSTART", "DTEND"}
	testOwnedShifts(t, []ownedShift{
		{"timed, moved later by the partner, extended by the record", start,
			caldav.Event{Summary: "Review", Start: march(10, 9), End: march(10, 10)}, caldav.Event{Summary: "Review", Start: march(10, 9), End: march(10, 11)},
			partnerTimes(march(10, 12), march(10, 13)), "20260310T120000Z", "20260310T140000Z"},
		{"timed, moved earlier by the partner, moved by the record", start,
			caldav.Event{Summary: "Review", Start: march(10, 9), End: march(10, 10)}, caldav.Event{Summary: "Review", Start: march(11, 9), End: march(11, 10)},
			partnerTimes(march(9, 8), march(9, 9)), "20260309T080000Z", "20260309T090000Z"},
		{"timed, no end in the record", start,
			caldav.Event{Summary: "Review", Start: march(10, 9)}, caldav.Event{Summary: "Review", Start: march(10, 7)},
			partnerTimes(march(10, 12), time.Time{}), "20260310T120000Z", ""},
		{"all-day, moved by the partner, longer in the record", start,
			caldav.Event{Summary: "Fair", Start: march(10, 0), AllDay: true}, caldav.Event{Summary: "Fair", Start: march(10, 0), End: march(13, 0), AllDay: true},
			partnerDates(march(20, 0), march(21, 0)), "20260320", "20260323"},
		{"all-day at the partner, made timed by the record", start,
			caldav.Event{Summary: "Fair", Start: march(10, 0), AllDay: true}, caldav.Event{Summary: "Fair", Start: march(10, 9), End: march(10, 10)},
			partnerDates(march(12, 0), march(13, 0)), "20260310T090000Z", "20260310T100000Z"},
		{"timed at the partner, made all-day by the record", start,
			caldav.Event{Summary: "Fair", Start: march(10, 9), End: march(10, 10)}, caldav.Event{Summary: "Fair", Start: march(10, 0), End: march(12, 0), AllDay: true},
			partnerTimes(march(14, 9), march(14, 10)), "20260310", "20260312"},
		{"start and end both owned", both,
			caldav.Event{Summary: "Review", Start: march(10, 9), End: march(10, 10)}, caldav.Event{Summary: "Review", Start: march(11, 14), End: march(11, 15)},
			partnerTimes(march(10, 8), march(10, 12)), "20260310T080000Z", "20260310T120000Z"},
		{"start and end both owned, all-day made timed by the record", both,
			caldav.Event{Summary: "Fair", Start: march(10, 0), AllDay: true}, caldav.Event{Summary: "Fair", Start: march(10, 9), End: march(10, 10)},
			partnerDates(time.Time{}, march(12, 0)), "20260310", "20260312"},
	})
}

// TestOwnedStartMovedAtThePartner: with DTSTART owned, the record owns
// the event's length. A partner that moves the whole event (a calendar
// client dragging it: start and end by as much) is in sync; one that
// moves only the start leaves the end off by as much, which Verify finds
// and Repair moves, keeping the partner's start.
func TestOwnedStartMovedAtThePartner(t *testing.T) {
	servers(t, func(t *testing.T, srv *caldavtest.Server) {
		for _, tt := range []struct {
			name string
			edit func(ev *ical.Component)
			diff bool // Verify finds DTEND off
		}{
			{name: "dragged", edit: partnerTimes(march(10, 12), march(10, 13))},
			{name: "start only", edit: partnerTimes(march(10, 12), time.Time{}), diff: true},
		} {
			t.Run(tt.name, func(t *testing.T) {
				e := newEnv(t, srv)
				owned, err := caldav.New(caldav.Config{CollectionURL: e.cal, HTTPClient: srv.Client(), OwnedFields: []string{"DTSTART"}})
				if err != nil {
					t.Fatal(err)
				}
				rec := synclayer.Record{Key: "WF-1", Version: 1, Payload: caldav.Event{Summary: "Review", Start: march(10, 9), End: march(10, 10)}}
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
// the record's end (time.Time{}, or in a zone Go does not know) gives way to the
// record's start.
func TestOwnedStartInItsZoneKeepsTheRecordsLength(t *testing.T) {
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
			held := heldObject(vtimezone("Europe/Berlin", "+0100"), tt.start+"DTEND:20260310T150000Z\r\n")
			put := putOver(t, held, caldav.Event{Summary: "s",
				Start: time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC), End: time.Date(2026, 3, 10, 11, 0, 0, 0, time.UTC)}, "DTSTART")
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
