// Package wallclock reads a local time in a time zone as the calendar
// standards do. A daylight saving change makes some local times occur
// twice (the offset goes back) and skips others (it goes forward).
// RFC 5545 §3.3.5 reads a time that occurs twice as its first occurrence,
// and a skipped time with the offset before the gap; java.time and Google
// Calendar read them the same way. Go's time.Date leaves both choices
// open, so two connectors reading one event could disagree on its instant
// by an hour. CalDAV and Google Calendar read their zoned times here.
package wallclock

import "time"

// In returns the instant at which the clocks of loc show wall, a local
// time given as a time in UTC (only its clock fields count): a time that
// occurs twice is its first occurrence, and a time a gap skips is read
// with the offset before the gap (02:30 in a gap from 02:00 to 03:00 is
// 03:30 after it). The candidates are the offsets in effect a day before
// and a day after wall: a zone changes its offset at most once in two
// days.
func In(wall time.Time, loc *time.Location) time.Time {
	_, before := wall.Add(-24 * time.Hour).In(loc).Zone()
	_, after := wall.Add(24 * time.Hour).In(loc).Zone()
	first, found := wall.Add(-time.Duration(before)*time.Second).In(loc), false
	for _, off := range []int{before, after} {
		at := wall.Add(-time.Duration(off) * time.Second).In(loc)
		if _, o := at.Zone(); o == off && (!found || at.Before(first)) {
			first, found = at, true
		}
	}
	return first // none found: in a gap, read with the offset before it
}
