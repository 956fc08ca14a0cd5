package caldav

import (
	"time"

	"github.com/emersion/go-ical"
)

// An owned end is kept as the server holds it, but the record owns
// DTSTART: when the record moves the start, an end kept in place could
// come before it, and a VEVENT whose DTEND is before its DTSTART, or of
// another value type, is invalid (RFC 5545 §3.6.1). So the owned end is
// taken to be the event's length, as a calendar client moving an event
// keeps it.

// fitEnd makes the end that want, the VEVENT to write, kept from held,
// the VEVENT the server holds, fit want's DTSTART. A kept DTEND moves by
// as much as DTSTART moved, keeping the length held has, in the time
// zone it was written in (a floating time is read and written as UTC);
// a kept DURATION moves with DTSTART by itself, and stays, unless the
// start is a DATE and it is not whole days. A kept end that cannot be
// made to fit (of the other value type than the start, or unreadable)
// gives way to ours, the record's own DTEND (none: the default end).
func fitEnd(want, held *ical.Component, ours []ical.Prop) {
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
	if from == nil || isDate(from) != isDate(end) || isDate(start) != isDate(end) {
		useOurs()
		return
	}
	if from.Value == start.Value && from.Params.Get(ical.ParamTimezoneID) == start.Params.Get(ical.ParamTimezoneID) {
		return // not moved: kept as it is
	}
	s0, err0 := moment(from)
	e0, err1 := moment(end)
	s1, err2 := moment(start)
	if err0 != nil || err1 != nil || err2 != nil || e0.Before(s0) {
		useOurs()
		return
	}
	if s1.Equal(s0) {
		return
	}
	moved := ical.NewProp(ical.PropDateTimeEnd)
	if isDate(end) {
		days := int(e0.Sub(s0) / (24 * time.Hour))
		moved.SetDate(s1.AddDate(0, 0, days))
	} else {
		at := s1.Add(e0.Sub(s0)).UTC()
		if tz := end.Params.Get(ical.ParamTimezoneID); tz != "" {
			if loc, err := time.LoadLocation(tz); err == nil {
				at = at.In(loc)
			}
		}
		moved.SetDateTime(at)
	}
	want.Props.Set(moved)
}

// moment reads a DATE (midnight UTC) or a DATE-TIME (UTC, or in its TZID;
// a floating time as UTC).
func moment(p *ical.Prop) (time.Time, error) {
	if isDate(p) {
		return time.Parse("20060102", p.Value)
	}
	return p.DateTime(time.UTC)
}
