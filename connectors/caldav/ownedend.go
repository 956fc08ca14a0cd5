package caldav

import (
	"time"

	"github.com/emersion/go-ical"
	"github.com/hmsplatform/synclayer/connectors/internal/wallclock"
)

// An owned end is kept as the server holds it, but the record owns
// DTSTART: when the record moves the start, an end kept in place could
// come before it, and a VEVENT whose DTEND is before its DTSTART, or of
// another value type, is invalid (RFC 5545 §3.6.1). So the owned end is
// taken to be the event's length, as a calendar client moving an event
// keeps it. The mirror case, an owned start, is in ownedstart.go.

// fitEnd makes the end that want, the VEVENT to write, kept from held,
// the VEVENT the server holds, fit want's DTSTART. A kept DTEND moves by
// as much as DTSTART moved, keeping the length held has, in the time
// zone it was written in (a floating time is read and written as UTC;
// with a held DTSTART in that zone too, the length on its clocks, see
// [shift]); a kept DURATION moves with DTSTART by itself, and stays,
// unless the start is a DATE and it is not whole days. A kept end that
// cannot be made to fit (of the other value type than the start, or
// unreadable) gives way to ours, the record's own DTEND (none: the
// default end). Times are read in z, the zones of held's object.
func (z zones) fitEnd(want, held *ical.Component, ours []ical.Prop) {
	start := want.Props.Get(ical.PropDateTimeStart)
	if start == nil {
		return
	}
	useOurs := func() {
		want.Props.Del(ical.PropDateTimeEnd)
		want.Props.Del(ical.PropDuration)
		if len(ours) > 0 {
			want.Props[ical.PropDateTimeEnd] = ours
		}
	}
	if p := want.Props.Get(ical.PropDuration); p != nil {
		if d, err := p.Duration(); err != nil || isDate(start) && (d <= 0 || d%(24*time.Hour) != 0) {
			useOurs()
		}
		return
	}
	end := want.Props.Get(ical.PropDateTimeEnd)
	if end == nil {
		return
	}
	from := held.Props.Get(ical.PropDateTimeStart)
	if from == nil {
		useOurs()
		return
	}
	if sameWhen(from, start) && isDate(from) == isDate(end) && isDate(start) == isDate(end) {
		return // not moved: kept as it is
	}
	moved, ok := z.shift(end, from, start)
	if !ok {
		useOurs()
		return
	}
	want.Props.Set(moved)
}

// shift returns p, a DTEND, moved by as much as to is from from, two
// DTSTARTs: it keeps the length from from to p, after to. All three must
// be of one value type: dates move by whole days; a time stays in the
// time zone p was written in, with its TZID as written (a floating time
// is read and written as UTC). When from and p are in one zone, p moves
// on that zone's clocks, as far as the start moves on them, so the
// length kept is the one on the clocks: whole days stay whole days
// across a change of the zone's offset. ok is false when they are not
// of one value type, one cannot be read, or p comes before from. The
// zones are found by [zones.find].
func (z zones) shift(p, from, to *ical.Prop) (moved *ical.Prop, ok bool) {
	if isDate(p) != isDate(from) || isDate(p) != isDate(to) {
		return nil, false
	}
	s0, err0 := z.moment(from)
	e0, err1 := z.moment(p)
	s1, err2 := z.moment(to)
	if err0 != nil || err1 != nil || err2 != nil || e0.Before(s0) {
		return nil, false
	}
	if s1.Equal(s0) {
		return p, true
	}
	moved = ical.NewProp(p.Name)
	if isDate(p) {
		days := int(e0.Sub(s0) / (24 * time.Hour))
		moved.SetDate(s1.AddDate(0, 0, days))
		return moved, true
	}
	at := s1.Add(e0.Sub(s0))
	tz := p.Params.Get(ical.ParamTimezoneID)
	if loc, ok := z.find(tz); ok {
		if floc, ok := z.find(from.Params.Get(ical.ParamTimezoneID)); ok && floc.String() == loc.String() {
			// from and p in one zone: p moves as the start moves on the
			// zone's clocks, whole days (nominal, RFC 5545 §3.3.6) and
			// the time of day, so a day-long event stays a day long
			// across a change of the zone's offset.
			moves := wallClock(s1, loc).Sub(wallClock(s0, loc))
			if nominal := wallclock.In(wallClock(e0, loc).Add(moves), loc); !nominal.Before(s1) {
				at = nominal
			}
		}
		// A local time in the zone, with the TZID as written, not the
		// zone's IANA name: the VTIMEZONE the object holds is of this
		// TZID. Also for a TZID naming UTC, which SetDateTime would
		// write in the "Z" form, without its TZID.
		moved.Value = at.In(loc).Format("20060102T150405")
		moved.Params.Set(ical.ParamTimezoneID, tz)
		return moved, true
	}
	moved.SetDateTime(at.UTC())
	return moved, true
}

// wallClock returns what the clocks of loc show at t, as a time in UTC.
func wallClock(t time.Time, loc *time.Location) time.Time {
	t = t.In(loc)
	return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC)
}

// sameWhen reports whether a and b are written alike: one value in one
// time zone.
func sameWhen(a, b *ical.Prop) bool {
	return a.Value == b.Value && a.Params.Get(ical.ParamTimezoneID) == b.Params.Get(ical.ParamTimezoneID)
}

// moment reads a DATE (midnight UTC) or a DATE-TIME (UTC, or in the zone
// its TZID names, see [zones.find]; a floating time as UTC).
func (z zones) moment(p *ical.Prop) (time.Time, error) {
	if isDate(p) {
		return time.Parse("20060102", p.Value)
	}
	return z.dateTime(p)
}
