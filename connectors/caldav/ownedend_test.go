package caldav_test

import (
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-ical"

	"github.com/hmsplatform/synclayer/connectors/caldav"
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
	end := []string{"DTEND"}
	testOwnedShifts(t, []ownedShift{
		{"timed, end extended by the partner", end,
			caldav.Event{Summary: "Review", Start: march(10, 9), End: march(10, 10)}, caldav.Event{Summary: "Review", Start: march(10, 14)},
			partnerTimes(time.Time{}, march(10, 11)), "20260310T140000Z", "20260310T160000Z"},
		{"timed, moved earlier", end,
			caldav.Event{Summary: "Review", Start: march(10, 9), End: march(10, 10)}, caldav.Event{Summary: "Review", Start: march(9, 8), End: march(9, 9)},
			partnerTimes(time.Time{}, march(10, 12)), "20260309T080000Z", "20260309T110000Z"},
		{"all-day, end extended by the partner", end,
			caldav.Event{Summary: "Fair", Start: march(10, 0), AllDay: true}, caldav.Event{Summary: "Fair", Start: march(20, 0), AllDay: true},
			partnerDates(time.Time{}, march(13, 0)), "20260320", "20260323"},
		{"the partner's DURATION", end,
			caldav.Event{Summary: "Review", Start: march(10, 9), End: march(10, 10)}, caldav.Event{Summary: "Review", Start: march(10, 14)},
			func(ev *ical.Component) {
				ev.Props.Del(ical.PropDateTimeEnd)
				ev.Props.Set(&ical.Prop{Name: ical.PropDuration, Params: ical.Params{}, Value: "PT2H"})
			}, "20260310T140000Z", "DURATION:PT2H"},
		{"all-day made timed", end,
			caldav.Event{Summary: "Fair", Start: march(10, 0), AllDay: true}, caldav.Event{Summary: "Fair", Start: march(10, 9), End: march(10, 10)},
			partnerDates(time.Time{}, march(13, 0)), "20260310T090000Z", "20260310T100000Z"},
	})
}

// TestOwnedEndInItsZoneFollowsAMovedStart: a kept DTEND written in a time
// zone moves in that zone, and brings its VTIMEZONE along.
func TestOwnedEndInItsZoneFollowsAMovedStart(t *testing.T) {
	held := heldObject(vtimezone("Europe/Berlin", "+0100"), "DTSTART:20260310T090000Z\r\nDTEND;TZID=Europe/Berlin:20260310T120000\r\n")
	// 09:00Z to 12:00 Berlin (11:00Z) is two hours; the start moves to 14:00Z.
	put := putOver(t, held, caldav.Event{Summary: "s", Start: time.Date(2026, 3, 10, 14, 0, 0, 0, time.UTC)}, "DTEND")
	if !strings.Contains(put, "DTSTART:20260310T140000Z\r\n") || !strings.Contains(put, "DTEND;TZID=Europe/Berlin:20260310T170000\r\n") {
		t.Errorf("want DTSTART 14:00Z and DTEND 17:00 Berlin (16:00Z):\n%s", put)
	}
	if strings.Count(put, "BEGIN:VTIMEZONE") != 1 || !strings.Contains(put, "TZID:Europe/Berlin\r\n") {
		t.Errorf("PUT body should hold the VTIMEZONE of Europe/Berlin:\n%s", put)
	}
}
