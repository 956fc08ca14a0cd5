package caldav

import "github.com/emersion/go-ical"

// An owned start is kept as the server holds it, but the record owns
// DTEND: the record's end, written as it is, could come before the kept
// start, or be of another value type, which RFC 5545 §3.6.1 forbids. So
// the record's end is taken to be the event's length, the mirror of
// fitEnd: the partner owns when the event starts, the record how long it
// lasts.

// fitStart makes want, the VEVENT to write, with the DTSTART kept from
// the server, fit ours, the record's own DTSTART and DTEND. The record's
// DTEND moves by as much as the kept start is away from the record's, so
// the event keeps the record's length (a timed record without a DTEND
// keeps none: it ends when the kept start begins). A kept start that
// cannot carry the record's end (absent, of the other value type than
// the record's DTSTART, or unreadable) gives way to the record's DTSTART:
// the record decides whether the event is all-day or timed. Times are
// read in z, the zones of the object the kept start comes from.
func (z zones) fitStart(want *ical.Component, ours ical.Props) {
	start := ours.Get(ical.PropDateTimeStart)
	if start == nil {
		return
	}
	useOurs := func() {
		want.Props[ical.PropDateTimeStart] = ours[ical.PropDateTimeStart]
		want.Props.Del(ical.PropDateTimeEnd)
		if ps := ours[ical.PropDateTimeEnd]; len(ps) > 0 {
			want.Props[ical.PropDateTimeEnd] = ps
		}
	}
	kept := want.Props.Get(ical.PropDateTimeStart)
	if kept == nil || isDate(kept) != isDate(start) {
		useOurs()
		return
	}
	end := ours.Get(ical.PropDateTimeEnd)
	if end == nil || sameWhen(kept, start) {
		return // the default end follows the kept start; or not moved
	}
	moved, ok := z.shift(end, start, kept)
	if !ok {
		useOurs()
		return
	}
	want.Props.Set(moved)
}
