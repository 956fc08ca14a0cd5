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
		moved, ok := shift(p, from, to)
		if !ok {
			t.Fatalf("TZID=%s: shift not ok", tt.tzid)
		}
		if got := moved.Params.Get(ical.ParamTimezoneID); moved.Value != tt.want || got != tt.tzid {
			t.Errorf("TZID=%s:%s moved a day = TZID=%s:%s, want TZID=%s:%s", tt.tzid, tt.end, got, moved.Value, tt.tzid, tt.want)
		}
	}
}
