package caldav

import (
	"strings"
	"time"

	"github.com/emersion/go-ical"
	"github.com/hmsplatform/synclayer/connectors/internal/wallclock"
)

// A DURATION is nominal in its days and weeks and exact in its hours,
// minutes and seconds (RFC 5545 §3.3.6): P1D from 10:00 ends at 10:00 the
// next day on the clocks of the start's zone, 23 or 25 hours later
// across a change of the zone's offset, while PT24H ends 24 hours later.

// span reads p, a DURATION, as its days (a week is 7) and the exact rest.
// A negative duration gives both negative.
func span(p *ical.Prop) (days int, exact time.Duration, err error) {
	total, err := p.Duration()
	if err != nil {
		return 0, 0, err
	}
	datePart := ical.NewProp(ical.PropDuration)
	datePart.Value = strings.ToUpper(p.Value)
	if i := strings.IndexByte(datePart.Value, 'T'); i >= 0 {
		datePart.Value = datePart.Value[:i]
	}
	nominal, err := datePart.Duration()
	if err != nil {
		return 0, 0, err
	}
	return int(nominal / (24 * time.Hour)), total - nominal, nil
}

// after returns the end of a timed event that starts at start, read
// from a DTSTART with that TZID, and lasts p, a DURATION: its days added
// on the clocks of the zone the TZID names ([zones.find]), the local time
// read back as RFC 5545 reads one at a change of offset
// ([wallclock.In]), then its exact part. With no zone (UTC, a floating
// time) a day is 24 hours.
func (z zones) after(start time.Time, tzid string, p *ical.Prop) (time.Time, error) {
	days, exact, err := span(p)
	if err != nil {
		return time.Time{}, err
	}
	if loc, ok := z.find(tzid); ok && days != 0 {
		start = wallclock.In(wallClock(start, loc).AddDate(0, 0, days), loc)
	} else {
		start = start.AddDate(0, 0, days)
	}
	return start.Add(exact), nil
}
