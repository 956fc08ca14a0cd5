package googlecalendar

import (
	"errors"
	"fmt"
	"time"

	"google.golang.org/api/calendar/v3"
)

// localLayout is a dateTime without a UTC offset; fractional seconds are
// accepted after the seconds when parsing.
const localLayout = "2006-01-02T15:04:05"

// instant returns the moment a timed start or end names. Its DateTime is
// RFC 3339 with a UTC offset, or, as the API allows when TimeZone is set
// ("A time zone offset is required unless a time zone is explicitly
// specified in timeZone", EventDateTime), a wall-clock time without one,
// read in that zone as [inZone] reads it. A TimeZone, when set, must be
// an IANA zone name.
func instant(t *calendar.EventDateTime) (time.Time, error) {
	var loc *time.Location
	if t.TimeZone != "" {
		l, err := time.LoadLocation(t.TimeZone)
		if err != nil {
			return time.Time{}, fmt.Errorf("time zone %q: %w", t.TimeZone, err)
		}
		loc = l
	}
	at, err := time.Parse(time.RFC3339, t.DateTime)
	if err == nil {
		return at, nil
	}
	wall, lerr := time.Parse(localLayout, t.DateTime)
	if lerr != nil {
		return time.Time{}, fmt.Errorf("times must be RFC 3339: %w", err)
	}
	if loc == nil {
		return time.Time{}, fmt.Errorf("DateTime %q has no UTC offset and no TimeZone: give one of them", t.DateTime)
	}
	return inZone(wall, loc), nil
}

// inZone returns the moment at which the clocks of loc show wall, a
// wall-clock time given in UTC, resolved as RFC 5545 §3.3.5 (and
// java.time, and Google) resolve the times a daylight saving change makes
// ambiguous: a time that occurs twice is its first occurrence, and a time
// that never occurs (skipped by a gap) is read with the offset before the
// gap (02:30 in a gap from 02:00 to 03:00 is 03:30 after it). Go's
// time.Date leaves that choice open. The offsets in effect a day before
// and a day after wall are the candidates: zones change their offset at
// most once in two days.
func inZone(wall time.Time, loc *time.Location) time.Time {
	offset := func(at time.Time) time.Duration {
		_, o := at.In(loc).Zone()
		return time.Duration(o) * time.Second
	}
	before, after := offset(wall.Add(-24*time.Hour)), offset(wall.Add(24*time.Hour))
	// The larger offset gives the earlier moment: try it first.
	for _, o := range []time.Duration{max(before, after), min(before, after)} {
		if at := wall.Add(-o); offset(at) == o {
			return at.In(loc)
		}
	}
	return wall.Add(-before).In(loc) // in a gap
}

// timedSpan returns the instants of a timed start and end.
func timedSpan(start, end *calendar.EventDateTime) (s, e time.Time, err error) {
	s, err1 := instant(start)
	e, err2 := instant(end)
	return s, e, errors.Join(err1, err2)
}
