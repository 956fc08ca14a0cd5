package caldav

import (
	"slices"
	"strings"
	"time"

	"github.com/emersion/go-ical"
)

// ignored names the properties a server or calendar client fills in
// itself, which Verify never compares. DURATION is compared as the DTEND
// it gives.
var ignored = map[string]bool{
	ical.PropDateTimeStamp: true, ical.PropCreated: true, ical.PropLastModified: true,
	ical.PropSequence: true, ical.PropProductID: true, ical.PropVersion: true,
	ical.PropCalendarScale: true, ical.PropMethod: true, ical.PropDuration: true,
}

// defaults are property values that mean the same as no property
// (RFC 5545 §3.8.1.3, §3.8.1.9, §3.8.2.7).
var defaults = map[string]string{ical.PropClass: "PUBLIC", ical.PropPriority: "0", ical.PropTransparency: "OPAQUE"}

// textProps are the properties whose values are TEXT, compared unescaped.
var textProps = map[string]bool{
	ical.PropSummary: true, ical.PropDescription: true, ical.PropLocation: true, ical.PropComment: true,
	ical.PropContact: true, ical.PropResources: true, ical.PropCategories: true, ical.PropUID: true,
	ical.PropStatus: true, ical.PropClass: true, ical.PropTransparency: true,
}

// enumProps are the properties whose values are case-insensitive tokens.
var enumProps = map[string]bool{ical.PropStatus: true, ical.PropClass: true, ical.PropTransparency: true}

// master returns the VEVENT a comparison reads: the one without a
// RECURRENCE-ID (a recurring event's master), else the first; nil when
// the object holds none.
func (s stored) master() *ical.Component {
	if s.cal == nil {
		return nil
	}
	var first *ical.Component
	for _, ch := range s.cal.Children {
		if ch.Name != ical.CompEvent {
			continue
		}
		if ch.Props.Get(ical.PropRecurrenceID) == nil {
			return ch
		}
		if first == nil {
			first = ch
		}
	}
	return first
}

// events counts the VEVENTs of the object.
func (s stored) events() int {
	if s.cal == nil {
		return 0
	}
	return len(s.cal.Events())
}

// diff returns the names of the properties in which got, a VEVENT the
// server holds, differs from want, the VEVENT Sync writes, sorted. It
// compares what the properties mean, not how they are written: names are
// case-insensitive (the decoder reads them in upper case), lines are
// unfolded and TEXT unescaped, DTSTART and DTEND are compared as instants
// (UTC or TZID alike; a floating time is read as UTC) or as dates, DTEND
// also when given as DURATION (days nominal, see [end]) or left to its
// default, a CLASS, PRIORITY or TRANSP at its default counts as absent, and repeated properties
// (ATTENDEE, CATEGORIES) are compared as sets. Properties a server fills
// in ([ignored]), the X- properties of other programs, alarms, and the
// owned properties are not compared. Times are read in the zones their
// TZIDs name, z holding those that only got's object defines.
func (c *Connector) diff(want, got *ical.Component, z zones) []string {
	var fields []string
	for _, name := range propNames(want, got) {
		if ignored[name] || c.owned[name] || strings.HasPrefix(name, "X-") && name != PropKey && name != PropVersion {
			continue
		}
		if !slices.Equal(z.values(want, name), z.values(got, name)) {
			fields = append(fields, name)
		}
	}
	if !c.owned[ical.PropDateTimeEnd] && (hasEnd(want) || hasEnd(got)) && z.end(want) != z.end(got) {
		fields = append(fields, ical.PropDateTimeEnd)
	}
	slices.Sort(fields)
	return fields
}

// propNames returns the property names of both components, without
// DTEND, which diff compares through [end].
func propNames(a, b *ical.Component) []string {
	var names []string
	for _, comp := range []*ical.Component{a, b} {
		for name := range comp.Props {
			if name != ical.PropDateTimeEnd && !slices.Contains(names, name) {
				names = append(names, name)
			}
		}
	}
	return names
}

// values returns the normalised values of comp's properties of that
// name, sorted, times read in z ([zones.when]).
func (z zones) values(comp *ical.Component, name string) []string {
	var out []string
	for _, p := range comp.Props[name] {
		v := z.value(&p)
		if v == defaults[name] && v != "" {
			continue
		}
		out = append(out, v)
	}
	slices.Sort(out)
	return out
}

// value normalises one property's value, a time read in z.
func (z zones) value(p *ical.Prop) string {
	switch p.Name {
	case ical.PropDateTimeStart, ical.PropRecurrenceID, ical.PropDue:
		return z.when(p)
	}
	if textProps[p.Name] || strings.HasPrefix(p.Name, "X-") && p.Params.Get(ical.ParamValue) == "" {
		l, err := p.TextList()
		if err != nil {
			return p.Value
		}
		for i, s := range l {
			l[i] = cleanText(s)
		}
		if p.Name == ical.PropCategories {
			slices.Sort(l)
		}
		s := strings.Join(l, ",")
		if enumProps[p.Name] {
			s = strings.ToUpper(s)
		}
		return s
	}
	return p.Value
}

// when normalises a DATE or DATE-TIME: a date as "2006-01-02", a time as
// its instant in UTC (RFC 3339), read in the zone its TZID names
// ([zones.find]). A TZID that names no zone known keeps the value as
// written, with its TZID.
func (z zones) when(p *ical.Prop) string {
	if isDate(p) {
		if t, err := time.Parse("20060102", p.Value); err == nil {
			return t.Format(time.DateOnly)
		}
		return p.Value
	}
	t, err := z.dateTime(p)
	if err != nil {
		return p.Params.Get(ical.PropTimezoneID) + ":" + p.Value
	}
	return t.UTC().Format(time.RFC3339)
}

// isDate reports whether p holds a DATE: VALUE=DATE (in any case), or
// no VALUE and a value as long as a date.
func isDate(p *ical.Prop) bool {
	vt := p.Params.Get(ical.ParamValue)
	return strings.EqualFold(vt, string(ical.ValueDate)) || vt == "" && len(p.Value) == len("20060102")
}

// hasEnd reports whether comp sets its end: DTEND or DURATION.
func hasEnd(comp *ical.Component) bool {
	return comp.Props.Get(ical.PropDateTimeEnd) != nil || comp.Props.Get(ical.PropDuration) != nil
}

// end returns the normalised end of a VEVENT (RFC 5545 §3.6.1): its
// DTEND, or DTSTART plus DURATION, or the day after a DATE DTSTART, or
// DTSTART itself. The days of a DURATION are added on the clocks of the
// start's zone, its hours, minutes and seconds as elapsed time
// ([zones.after]). Times are read in z.
func (z zones) end(comp *ical.Component) string {
	if p := comp.Props.Get(ical.PropDateTimeEnd); p != nil {
		return z.when(p)
	}
	start := comp.Props.Get(ical.PropDateTimeStart)
	if start == nil {
		return ""
	}
	dur := comp.Props.Get(ical.PropDuration)
	if dur != nil {
		d, err := dur.Duration()
		if err != nil {
			return "DURATION:" + dur.Value
		}
		if d == 0 {
			return z.when(start)
		}
	}
	if isDate(start) {
		t, err := time.Parse("20060102", start.Value)
		if err != nil {
			return "?" + start.Value
		}
		if dur == nil {
			return t.AddDate(0, 0, 1).Format(time.DateOnly)
		}
		days, exact, _ := span(dur)
		return t.AddDate(0, 0, days).Add(exact).Format(time.DateOnly)
	}
	if dur == nil {
		return z.when(start)
	}
	t, err := z.dateTime(start)
	if err != nil {
		return "?" + start.Value
	}
	if t, err = z.after(t, start.Params.Get(ical.ParamTimezoneID), dur); err != nil {
		return "DURATION:" + dur.Value
	}
	return t.UTC().Format(time.RFC3339)
}
