package googlecalendar

import (
	"errors"
	"fmt"
	"time"

	"github.com/hmsplatform/synclayer/connectors/internal/wallclock"
	"google.golang.org/api/calendar/v3"
)

// localLayout is a dateTime without a UTC offset; fractional seconds are
// accepted after the seconds when parsing.
const localLayout = "2006-01-02T15:04:05"

// instant returns the moment a timed start or end names. Its DateTime is
// RFC 3339 with a UTC offset, or, as the API allows when TimeZone is set
// ("A time zone offset is required unless a time zone is explicitly
// specified in timeZone", EventDateTime), a wall-clock time without one,
// read in that zone as [wallclock.In] reads it (RFC 5545 §3.3.5 at a
// daylight saving change). A TimeZone, when set, must be an IANA zone
// name.
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
	return wallclock.In(wall, loc), nil
}

// timedSpan returns the instants of a timed start and end.
func timedSpan(start, end *calendar.EventDateTime) (s, e time.Time, err error) {
	s, err1 := instant(start)
	e, err2 := instant(end)
	return s, e, errors.Join(err1, err2)
}
