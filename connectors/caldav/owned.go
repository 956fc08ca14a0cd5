package caldav

import (
	"fmt"
	"strings"

	"github.com/emersion/go-ical"

	"github.com/hmsplatform/synclayer/internal/option"
)

// ownedSet checks Config.OwnedFields and returns the upper-case names.
func ownedSet(names []string) (map[string]bool, error) {
	if len(names) == 0 {
		return nil, nil
	}
	set := make(map[string]bool, len(names)+1)
	for _, n := range names {
		up := strings.ToUpper(strings.TrimSpace(n))
		switch up {
		case "":
			return nil, fmt.Errorf("caldav: %w: Config.OwnedFields holds an empty name", option.ErrInvalid)
		case ical.PropUID, PropKey, PropVersion:
			return nil, fmt.Errorf("caldav: %w: Config.OwnedFields: %s identifies the record and cannot be owned by the partner", option.ErrInvalid, up)
		}
		set[up] = true
	}
	if set[ical.PropDateTimeEnd] {
		set[ical.PropDuration] = true
	}
	return set, nil
}

// body encodes ev for key; when held, a VEVENT the server holds, is not
// nil, the owned properties are taken from it instead (see
// [Connector.keep]), and the VTIMEZONE components of heldCal, the
// calendar held belongs to, that a kept property names by its TZID
// parameter are copied too (RFC 4791 section 4.1: a VTIMEZONE for every
// TZID used).
func (c *Connector) body(key string, version int64, ev Event, held *ical.Component, heldCal *ical.Calendar) ([]byte, error) {
	cal, err := c.build(key, version, ev)
	if err != nil {
		return nil, err
	}
	if held != nil {
		want := cal.Children[0]
		c.keep(want, held, zonesOf(heldCal))
		tzids := map[string]bool{}
		for name := range c.owned {
			for _, p := range want.Props[name] {
				if tz := strings.Trim(strings.TrimSpace(p.Params.Get(ical.ParamTimezoneID)), `"`); tz != "" {
					tzids[tz] = true
				}
			}
		}
		if len(tzids) > 0 && heldCal != nil {
			var vtimezones []*ical.Component
			for _, ch := range heldCal.Children {
				if tz, ok := zoneID(ch); ok && tzids[tz] {
					vtimezones = append(vtimezones, ch)
					delete(tzids, tz)
				}
			}
			cal.Children = append(vtimezones, cal.Children...)
		}
	}
	return serialise(cal)
}

// keep replaces the owned properties of want, the record's VEVENT, with
// those of held, the VEVENT the server holds (or their absence), then
// makes the start and end fit each other when only one of them is owned:
// an owned end is the event's length after the record's start
// ([fitEnd]), an owned start carries the record's length ([fitStart]).
// Owned together, both are kept as held has them. Times are read in z,
// the zones of held's object.
func (c *Connector) keep(want, held *ical.Component, z zones) {
	ours := ical.Props{}
	for _, name := range []string{ical.PropDateTimeStart, ical.PropDateTimeEnd} {
		if ps := want.Props[name]; len(ps) > 0 {
			ours[name] = ps
		}
	}
	for name := range c.owned {
		want.Props.Del(name)
		if ps := held.Props[name]; len(ps) > 0 {
			want.Props[name] = append([]ical.Prop(nil), ps...)
		}
	}
	switch start, end := c.owned[ical.PropDateTimeStart], c.owned[ical.PropDateTimeEnd]; {
	case end && !start:
		z.fitEnd(want, held, ours[ical.PropDateTimeEnd])
	case start && !end:
		z.fitStart(want, ours)
	}
}
