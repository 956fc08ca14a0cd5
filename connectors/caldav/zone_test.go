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
		got, err := zones(nil).dateTime(tt.p)
		if err != nil || !got.Equal(tt.want) {
			t.Errorf("dateTime(%s;TZID=%s:%s) = %v, %v; want %v", tt.p.Name, tt.p.Params.Get(ical.ParamTimezoneID), tt.p.Value, got, err, tt.want)
		}
	}
	if _, err := zones(nil).dateTime(prop("Mars/Olympus", "20260710T150000")); err == nil || err.Error() != `caldav: DTSTART: unknown time zone "Mars/Olympus"` {
		t.Errorf("unknown zone: %v", err)
	}
}

// TestDateTimeAtDSTChanges: a local time a summer time change makes occur
// twice is its first occurrence, and one the change skips is read with
// the UTC offset before the gap (RFC 5545 §3.3.5); times next to the
// change are read as usual.
func TestDateTimeAtDSTChanges(t *testing.T) {
	for _, tt := range []struct{ tzid, value, want string }{
		// Autumn: 02:00 to 03:00 occurs twice in Berlin, 01:00 to 02:00 in New York.
		{"Europe/Berlin", "20261025T023000", "2026-10-25T00:30:00Z"},
		{"W. Europe Standard Time", "20261025T023000", "2026-10-25T00:30:00Z"},
		{"Europe/Berlin", "20261025T020000", "2026-10-25T00:00:00Z"},
		{"America/New_York", "20261101T013000", "2026-11-01T05:30:00Z"},
		{"Europe/Berlin", "20261025T015959", "2026-10-24T23:59:59Z"},
		{"Europe/Berlin", "20261025T030000", "2026-10-25T02:00:00Z"},
		// Spring: 02:00 to 03:00 is skipped in both.
		{"Europe/Berlin", "20260329T023000", "2026-03-29T01:30:00Z"},
		{"Europe/Berlin", "20260329T020000", "2026-03-29T01:00:00Z"},
		{"America/New_York", "20260308T023000", "2026-03-08T07:30:00Z"},
		{"Europe/Berlin", "20260329T015959", "2026-03-29T00:59:59Z"},
		{"Europe/Berlin", "20260329T030000", "2026-03-29T01:00:00Z"},
		// Ordinary times, and a zone without summer time.
		{"Europe/Berlin", "20260710T150000", "2026-07-10T13:00:00Z"},
		{"America/New_York", "20260110T090000", "2026-01-10T14:00:00Z"},
		{"Asia/Kolkata", "20260710T150000", "2026-07-10T09:30:00Z"},
		{"UTC", "20260710T150000", "2026-07-10T15:00:00Z"},
	} {
		got, err := zones(nil).dateTime(timeProp(ical.PropDateTimeStart, tt.value, tt.tzid))
		if err != nil {
			t.Errorf("%s %s: %v", tt.tzid, tt.value, err)
			continue
		}
		if g := got.UTC().Format(time.RFC3339); g != tt.want {
			t.Errorf("TZID=%s:%s = %s, want %s", tt.tzid, tt.value, g, tt.want)
		}
	}
}
