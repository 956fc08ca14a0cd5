package caldav

import (
	"testing"

	"github.com/emersion/go-ical"
)

// timeProp is a DATE-TIME property name:value, with a TZID when tzid is
// not "".
func timeProp(name, value, tzid string) *ical.Prop {
	p := ical.NewProp(name)
	p.Value = value
	if tzid != "" {
		p.Params.Set(ical.ParamTimezoneID, tzid)
	}
	return p
}

// TestShiftKeepsTheTZIDAsWritten: a moved DTEND is written in the zone
// its TZID names, with that TZID, as a local time; a TZID of "UTC" too,
// which is not to become a time in "Z" form without its TZID.
func TestShiftKeepsTheTZIDAsWritten(t *testing.T) {
	for _, tt := range []struct{ tzid, end, want string }{
		{"UTC", "20260710T110000", "20260711T110000"},
		{"Europe/Berlin", "20260710T140000", "20260711T140000"},
		{"W. Europe Standard Time", "20260710T140000", "20260711T140000"},
	} {
		from := timeProp(ical.PropDateTimeStart, "20260710T100000Z", "")
		to := timeProp(ical.PropDateTimeStart, "20260711T100000Z", "")
		p := timeProp(ical.PropDateTimeEnd, tt.end, tt.tzid)
		moved, ok := zones(nil).shift(p, from, to)
		if !ok {
			t.Fatalf("TZID=%s: shift not ok", tt.tzid)
		}
		if got := moved.Params.Get(ical.ParamTimezoneID); moved.Value != tt.want || got != tt.tzid {
			t.Errorf("TZID=%s:%s moved a day = TZID=%s:%s, want TZID=%s:%s", tt.tzid, tt.end, got, moved.Value, tt.tzid, tt.want)
		}
	}
}

// TestShiftKeepsCalendarDaysAcrossDST: a held start and end in one named
// zone move by as much as the start moves on that zone's clocks, so an
// event a calendar day long stays a calendar day long when it is moved
// across a summer time change (RFC 5545 §3.3.6: a day is nominal), as it
// would were its end held as DURATION:P1D. Over a change, 09:00 Saturday
// to 09:00 Sunday in Berlin is 23 hours; moved to a week without one, it
// is 24.
func TestShiftKeepsCalendarDaysAcrossDST(t *testing.T) {
	for _, tt := range []struct{ name, heldStart, heldEnd, start, want string }{
		{"out of the spring change", "20260328T090000", "20260329T090000", "20260320T080000Z", "20260321T090000"},
		{"into the spring change", "20260320T090000", "20260321T090000", "20260328T080000Z", "20260329T090000"},
		{"into the autumn change", "20261017T090000", "20261018T090000", "20261024T070000Z", "20261025T090000"},
		{"a day and a half hour, later in the day", "20260328T090000", "20260329T093000", "20260320T090000Z", "20260321T103000"},
		{"within a day", "20260328T090000", "20260328T110000", "20260320T080000Z", "20260320T110000"},
	} {
		held := ical.NewEvent()
		held.Props.Set(timeProp(ical.PropDateTimeStart, tt.heldStart, "Europe/Berlin"))
		held.Props.Set(timeProp(ical.PropDateTimeEnd, tt.heldEnd, "Europe/Berlin"))
		want := ical.NewEvent()
		want.Props.Set(timeProp(ical.PropDateTimeStart, tt.start, ""))
		want.Props.Set(timeProp(ical.PropDateTimeEnd, tt.heldEnd, "Europe/Berlin"))
		zones(nil).fitEnd(want.Component, held.Component, nil)
		got := want.Props.Get(ical.PropDateTimeEnd)
		if got.Value != tt.want || got.Params.Get(ical.ParamTimezoneID) != "Europe/Berlin" {
			t.Errorf("%s: DTSTART:%s gives DTEND;TZID=%s:%s, want DTEND;TZID=Europe/Berlin:%s",
				tt.name, tt.start, got.Params.Get(ical.ParamTimezoneID), got.Value, tt.want)
		}
	}

	// The same event held with DURATION:P1D ends at the same instant.
	held := ical.NewEvent()
	held.Props.Set(timeProp(ical.PropDateTimeStart, "20260328T090000", "Europe/Berlin"))
	withEnd := ical.NewEvent()
	withEnd.Props.Set(timeProp(ical.PropDateTimeStart, "20260320T080000Z", ""))
	withEnd.Props.Set(timeProp(ical.PropDateTimeEnd, "20260329T090000", "Europe/Berlin"))
	zones(nil).fitEnd(withEnd.Component, held.Component, nil)
	withDur := ical.NewEvent()
	withDur.Props.Set(timeProp(ical.PropDateTimeStart, "20260320T080000Z", ""))
	withDur.Props.Set(&ical.Prop{Name: ical.PropDuration, Params: ical.Params{}, Value: "P1D"})
	zones(nil).fitEnd(withDur.Component, held.Component, nil)
	if e1, e2 := zones(nil).end(withEnd.Component), zones(nil).end(withDur.Component); e1 != e2 {
		t.Errorf("held as DTEND the event ends %s, held as DURATION:P1D %s", e1, e2)
	}
}
