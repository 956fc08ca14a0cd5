package caldav

import (
	"testing"
	"time"

	"github.com/emersion/go-ical"
)

// TestLocation: a TZID is read as the IANA zone it names as written, as
// a Windows zone name (CLDR's mapping), or behind a path; quoted or not.
// Any other name, and "" and "Local", name no zone.
func TestLocation(t *testing.T) {
	for _, tt := range []struct{ tzid, want string }{
		{"Europe/Berlin", "Europe/Berlin"},
		{`"America/New_York"`, "America/New_York"},
		{"UTC", "UTC"},
		{"W. Europe Standard Time", "Europe/Berlin"},
		{"Eastern Standard Time", "America/New_York"},
		{"GMT Standard Time", "Europe/London"},
		{"Romance Standard Time", "Europe/Paris"},
		{"India Standard Time", "Asia/Kolkata"},
		{`"W. Europe Standard Time"`, "Europe/Berlin"},
		{"/mozilla.org/20050126_1/Europe/Berlin", "Europe/Berlin"},
		{"/softwarestudio.org/Olson_20011030_5/America/New_York", "America/New_York"},
		{"/citadel.org/20190914_1/America/Argentina/Buenos_Aires", "America/Argentina/Buenos_Aires"},
		{"Mars/Olympus", ""},
		{"Customized Time Zone", ""},
		{"/example.org/Berlin", ""},
		{"/example.org/Local", ""},
		{"Local", ""},
		{"", ""},
	} {
		loc, ok := location(tt.tzid)
		switch {
		case tt.want == "" && ok:
			t.Errorf("location(%q) = %s, want none", tt.tzid, loc)
		case tt.want != "" && (!ok || loc.String() != tt.want):
			t.Errorf("location(%q) = %v, %v; want %s", tt.tzid, loc, ok, tt.want)
		}
	}
}

// TestWindowsZonesLoad: every IANA name of the Windows zone table is one
// time.LoadLocation knows.
func TestWindowsZonesLoad(t *testing.T) {
	for win, name := range windowsZones {
		if _, err := time.LoadLocation(name); err != nil {
			t.Errorf("%s: %v", win, err)
		}
	}
}

// TestDateTime: a DATE-TIME is read in UTC, in its TZID's zone (summer
// time included), or, floating, as UTC; a TZID naming no zone known is
// an error that names it.
func TestDateTime(t *testing.T) {
	prop := func(tzid, value string) *ical.Prop {
		p := ical.NewProp(ical.PropDateTimeStart)
		p.Value = value
		if tzid != "" {
			p.Params.Set(ical.ParamTimezoneID, tzid)
		}
		return p
	}
	for _, tt := range []struct {
		p    *ical.Prop
		want time.Time
	}{
		{prop("", "20260710T150000Z"), time.Date(2026, 7, 10, 15, 0, 0, 0, time.UTC)},
		{prop("", "20260710T150000"), time.Date(2026, 7, 10, 15, 0, 0, 0, time.UTC)},
		{prop("W. Europe Standard Time", "20260710T150000"), time.Date(2026, 7, 10, 13, 0, 0, 0, time.UTC)},
		{prop("W. Europe Standard Time", "20260110T150000"), time.Date(2026, 1, 10, 14, 0, 0, 0, time.UTC)},
		{prop("Eastern Standard Time", "20260710T090000"), time.Date(2026, 7, 10, 13, 0, 0, 0, time.UTC)},
		{prop("/mozilla.org/20050126_1/Europe/Berlin", "20260710T150000"), time.Date(2026, 7, 10, 13, 0, 0, 0, time.UTC)},
	} {
		got, err := dateTime(tt.p)
		if err != nil || !got.Equal(tt.want) {
			t.Errorf("dateTime(%s;TZID=%s:%s) = %v, %v; want %v", tt.p.Name, tt.p.Params.Get(ical.ParamTimezoneID), tt.p.Value, got, err, tt.want)
		}
	}
	if _, err := dateTime(prop("Mars/Olympus", "20260710T150000")); err == nil || err.Error() != `caldav: DTSTART: unknown time zone "Mars/Olympus"` {
		t.Errorf("unknown zone: %v", err)
	}
}
