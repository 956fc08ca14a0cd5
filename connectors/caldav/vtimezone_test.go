package caldav

import (
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-ical"
)

// calendarOf decodes an iCalendar object of the lines given.
func calendarOf(t testing.TB, lines ...string) *ical.Calendar {
	t.Helper()
	body := "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\n" + strings.Join(lines, "\r\n") + "\r\nEND:VCALENDAR\r\n"
	cal, err := ical.NewDecoder(strings.NewReader(body)).Decode()
	if err != nil {
		t.Fatal(err)
	}
	return cal
}

// outlookCustom is the VTIMEZONE Outlook writes as "Customized Time
// Zone" for Central European Time: summer time (+02:00) from the last
// Sunday of March at 02:00 to the last Sunday of October at 03:00, the
// onsets repeating from 1601.
var outlookCustom = vtimezone("Customized Time Zone",
	onsetsOf("STANDARD", "16010101T030000", "+0200", "+0100", "RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=10"),
	onsetsOf("DAYLIGHT", "16010101T020000", "+0100", "+0200", "RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=3"))

// usEastern is America/New_York as a VTIMEZONE of two eras: the rules of
// 1987 to 2006 end by UNTIL, those from 2007 start then.
var usEastern = vtimezone("US-Eastern",
	onsetsOf("DAYLIGHT", "19870405T020000", "-0500", "-0400", "RRULE:FREQ=YEARLY;BYMONTH=4;BYDAY=1SU;UNTIL=20060402T070000Z"),
	onsetsOf("STANDARD", "19671029T020000", "-0400", "-0500", "RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU;UNTIL=20061029T060000Z"),
	onsetsOf("DAYLIGHT", "20070311T020000", "-0500", "-0400", "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=2SU"),
	onsetsOf("STANDARD", "20071104T020000", "-0400", "-0500", "RRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=1SU"))

// byDates is a zone of onsets given by RDATE only, one of them a PERIOD.
var byDates = vtimezone("By dates",
	onsetsOf("STANDARD", "20251026T030000", "+0200", "+0100", "RDATE:20261025T030000"),
	onsetsOf("DAYLIGHT", "20250330T020000", "+0100", "+0200", "RDATE;VALUE=PERIOD:20260329T020000/PT1H"))

// vtimezone is the lines of the VTIMEZONE of tzid with the observances
// given.
func vtimezone(tzid string, observances ...[]string) []string {
	lines := []string{"BEGIN:VTIMEZONE", "TZID:" + tzid}
	for _, o := range observances {
		lines = append(lines, o...)
	}
	return append(lines, "END:VTIMEZONE")
}

// onsetsOf is the lines of a STANDARD or DAYLIGHT observance (kind),
// from its onset start on, with more onset lines (RRULE, RDATE).
func onsetsOf(kind, start, from, to string, onsets ...string) []string {
	lines := []string{"BEGIN:" + kind, "DTSTART:" + start, "TZOFFSETFROM:" + from, "TZOFFSETTO:" + to}
	return append(append(lines, onsets...), "END:"+kind)
}

// TestZonesOfVTIMEZONE: a local time in a zone only a VTIMEZONE defines
// is read with the offset of the latest onset at or before it, RRULE and
// RDATE onsets included, UNTIL ending an era; a time a change skips with
// the offset before the gap, one it repeats as its first occurrence
// (RFC 5545 §3.3.5), as [wallclock.In] reads IANA zones.
func TestZonesOfVTIMEZONE(t *testing.T) {
	cal := calendarOf(t, append(append(outlookCustom, usEastern...), byDates...)...)
	z := zonesOf(cal)
	if len(z) != 3 {
		t.Fatalf("zonesOf = %v, want 3 zones", z)
	}
	for _, tt := range []struct {
		tzid, local string
		want        time.Time
	}{
		{"Customized Time Zone", "20260115T100000", time.Date(2026, 1, 15, 9, 0, 0, 0, time.UTC)},
		{"Customized Time Zone", "20260710T100000", time.Date(2026, 7, 10, 8, 0, 0, 0, time.UTC)},
		{"Customized Time Zone", "20260329T015959", time.Date(2026, 3, 29, 0, 59, 59, 0, time.UTC)},
		{"Customized Time Zone", "20260329T023000", time.Date(2026, 3, 29, 1, 30, 0, 0, time.UTC)}, // in the gap: +01:00
		{"Customized Time Zone", "20260329T030000", time.Date(2026, 3, 29, 1, 0, 0, 0, time.UTC)},
		{"Customized Time Zone", "20261025T023000", time.Date(2026, 10, 25, 0, 30, 0, 0, time.UTC)}, // twice: the first
		{"Customized Time Zone", "20261025T030000", time.Date(2026, 10, 25, 2, 0, 0, 0, time.UTC)},
		{"Customized Time Zone", "21990710T100000", time.Date(2199, 7, 10, 8, 0, 0, 0, time.UTC)},
		{"Customized Time Zone", "16000710T100000", time.Date(1600, 7, 10, 8, 0, 0, 0, time.UTC)}, // before the first onset: TZOFFSETFROM
		{"US-Eastern", "20060402T030000", time.Date(2006, 4, 2, 7, 0, 0, 0, time.UTC)},
		{"US-Eastern", "20060320T120000", time.Date(2006, 3, 20, 17, 0, 0, 0, time.UTC)}, // after 2007's rule's day, before 2006's
		{"US-Eastern", "20260320T120000", time.Date(2026, 3, 20, 16, 0, 0, 0, time.UTC)},
		{"US-Eastern", "20261115T120000", time.Date(2026, 11, 15, 17, 0, 0, 0, time.UTC)},
		{"By dates", "20260320T120000", time.Date(2026, 3, 20, 11, 0, 0, 0, time.UTC)},
		{"By dates", "20260710T120000", time.Date(2026, 7, 10, 10, 0, 0, 0, time.UTC)},
		{"By dates", "20261210T120000", time.Date(2026, 12, 10, 11, 0, 0, 0, time.UTC)},
		{`"Customized Time Zone"`, "20260710T100000", time.Date(2026, 7, 10, 8, 0, 0, 0, time.UTC)},
	} {
		got, err := z.dateTime(timeProp(ical.PropDateTimeStart, tt.local, tt.tzid))
		if err != nil || !got.Equal(tt.want) {
			t.Errorf("DTSTART;TZID=%s:%s = %v, %v; want %v", tt.tzid, tt.local, got.UTC(), err, tt.want)
		}
	}

	// A DURATION's days are nominal in such a zone too: P1D from 10:00
	// Saturday ends 10:00 Sunday, after the spring change, 23 hours on.
	ev := ical.NewEvent()
	ev.Props.Set(timeProp(ical.PropDateTimeStart, "20260328T100000", "Customized Time Zone"))
	ev.Props.Set(&ical.Prop{Name: ical.PropDuration, Params: ical.Params{}, Value: "P1D"})
	if got, want := z.end(ev.Component), "2026-03-29T08:00:00Z"; got != want {
		t.Errorf("DTSTART;TZID=Customized Time Zone:20260328T100000, DURATION:P1D ends %s, want %s", got, want)
	}
}

// TestZonesOfKnownAndUnreadable: a VTIMEZONE whose TZID [location]
// resolves defines no zone of its own (the IANA rules win), nor does one
// that cannot be read; a time in the latter stays unreadable.
func TestZonesOfKnownAndUnreadable(t *testing.T) {
	cal := calendarOf(t,
		"BEGIN:VTIMEZONE", "TZID:Europe/Berlin",
		"BEGIN:STANDARD", "DTSTART:19701025T030000", "TZOFFSETFROM:+0500", "TZOFFSETTO:+0500", "END:STANDARD",
		"END:VTIMEZONE",
		"BEGIN:VTIMEZONE", "TZID:Broken",
		"BEGIN:STANDARD", "DTSTART:19701025T030000", "TZOFFSETFROM:+0100", "TZOFFSETTO:one", "END:STANDARD",
		"END:VTIMEZONE",
		"BEGIN:VTIMEZONE", "TZID:Empty", "END:VTIMEZONE",
	)
	if z := zonesOf(cal); len(z) != 0 {
		t.Errorf("zonesOf = %v, want none", z)
	}
	if _, err := zonesOf(cal).dateTime(timeProp(ical.PropDateTimeStart, "20260710T100000", "Broken")); err == nil || err.Error() != `caldav: DTSTART: unknown time zone "Broken"` {
		t.Errorf("a time in an unreadable VTIMEZONE: %v", err)
	}
	if _, err := observed("Broken", cal.Children[1]); err == nil || err.Error() != `caldav: VTIMEZONE "Broken": STANDARD: TZOFFSETTO: invalid UTC offset "one"` {
		t.Errorf("observed: %v", err)
	}
}

// TestObservedBounds: an RRULE that would give onsets without end, of a
// FREQ finer than MONTHLY or of too many onsets before the horizon,
// makes the VTIMEZONE unreadable rather than expanded.
func TestObservedBounds(t *testing.T) {
	for _, tt := range []struct{ rule, want string }{
		{"FREQ=SECONDLY", `caldav: VTIMEZONE "z": STANDARD: RRULE: FREQ=SECONDLY, not YEARLY or MONTHLY`},
		{"FREQ=MONTHLY;BYMONTHDAY=1,2,3", `caldav: VTIMEZONE "z": STANDARD: RRULE: more than 2000 onsets before 2200`},
	} {
		cal := calendarOf(t, "BEGIN:VTIMEZONE", "TZID:z",
			"BEGIN:STANDARD", "DTSTART:16010101T030000", "TZOFFSETFROM:+0100", "TZOFFSETTO:+0100", "RRULE:"+tt.rule, "END:STANDARD",
			"END:VTIMEZONE")
		if _, err := observed("z", cal.Children[0]); err == nil || err.Error() != tt.want {
			t.Errorf("RRULE:%s: %v, want %s", tt.rule, err, tt.want)
		}
	}
}

// BenchmarkZonesOfOutlook: the zones of an object in Outlook's
// "Customized Time Zone", whose onsets repeat yearly from 1601, as every
// Sync, Verify and Repair of such an object reads them.
func BenchmarkZonesOfOutlook(b *testing.B) {
	cal := calendarOf(b, outlookCustom...)
	for b.Loop() {
		if z := zonesOf(cal); len(z) != 1 {
			b.Fatalf("zonesOf = %v, want 1 zone", z)
		}
	}
}

// BenchmarkDateTimeInAnIANAZone: a local time with a TZID of an IANA
// name, as every compared or kept time of most objects is read.
func BenchmarkDateTimeInAnIANAZone(b *testing.B) {
	p := timeProp(ical.PropDateTimeStart, "20260710T100000", "Europe/Berlin")
	want := time.Date(2026, 7, 10, 8, 0, 0, 0, time.UTC)
	for b.Loop() {
		if got, err := zones(nil).dateTime(p); err != nil || !got.Equal(want) {
			b.Fatalf("dateTime = %v, %v; want %v", got, err, want)
		}
	}
}

// TestMemoStartsAfreshWhenFull: a memo holds at most max values, so a
// partner sending ever new TZIDs cannot grow it.
func TestMemoStartsAfreshWhenFull(t *testing.T) {
	c := memo[int]{max: 2}
	c.put("a", 1)
	c.put("b", 2)
	if v, ok := c.get("b"); !ok || v != 2 {
		t.Fatalf("get(b) = %d, %t; want 2, true", v, ok)
	}
	c.put("c", 3)
	if _, ok := c.get("a"); ok || len(c.m) != 1 {
		t.Fatalf("after a third put the memo holds %v, want only c", c.m)
	}
}
