package caldav

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-ical"
	"github.com/teambition/rrule-go"
)

// A TZID that names no zone [location] knows, such as Outlook's
// "Customized Time Zone" or a display name, "(UTC+01:00) Amsterdam,
// Berlin, Bern, Rome, Stockholm, Vienna", is defined by the VTIMEZONE of
// that TZID the object carries (RFC 5545 §3.6.5). Its observances,
// STANDARD and DAYLIGHT, each give an onset (DTSTART, a local time on
// the clocks before it, which show TZOFFSETFROM), more onsets by RRULE
// and RDATE, and the offset from each onset on (TZOFFSETTO); the offset
// at an instant is the one of the latest onset at or before it. The
// connector turns the onsets into a time.Location, through the TZif
// form time.LoadLocationFromTZData reads (RFC 8536), so a local time in
// such a zone is read like one in an IANA zone, by wallclock.In, and
// a kept time is written back in it with its TZID as written.

// zones are the time zones the VTIMEZONEs of one calendar object
// define, by TZID, for the TZIDs [location] does not resolve. A nil
// zones holds none.
type zones map[string]*time.Location

// horizon bounds the onsets an RRULE without an end gives: after it, a
// zone keeps the offset of its last onset before it.
var horizon = time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)

// maxOnsets bounds the onsets one observance's RRULE may give before
// [horizon]: yearly from 1601, the start Outlook writes, is 600. An
// RRULE of more (or of a FREQ finer than MONTHLY) is no time zone's and
// would cost time and memory to expand.
const maxOnsets = 2000

// zonesOf returns the zones the VTIMEZONEs of cal define for TZIDs that
// [location] does not resolve. A VTIMEZONE that cannot be read defines
// none: times in it are compared as written, and kept owned times in it
// give way to the record's.
func zonesOf(cal *ical.Calendar) zones {
	if cal == nil {
		return nil
	}
	var z zones
	for _, ch := range cal.Children {
		tzid, ok := zoneID(ch)
		if !ok || z[tzid] != nil {
			continue
		}
		if _, known := location(tzid); known {
			continue
		}
		loc, err := builtZone(tzid, ch)
		if err != nil {
			continue
		}
		if z == nil {
			z = zones{}
		}
		z[tzid] = loc
	}
	return z
}

// zoneID returns the TZID of comp, a VTIMEZONE, as a TZID parameter
// names it: unescaped (Outlook leaves the commas of a display name
// unescaped, which RFC 5545 §3.3.11 would escape), without double quotes. ok is false when comp is
// no VTIMEZONE or has no TZID.
func zoneID(comp *ical.Component) (tzid string, ok bool) {
	p := comp.Props.Get(ical.PropTimezoneID)
	if comp.Name != ical.CompTimezone || p == nil {
		return "", false
	}
	tzid = p.Value
	if l, err := p.TextList(); err == nil {
		tzid = strings.Join(l, ",") // a comma escaped or not
	}
	tzid = strings.Trim(strings.TrimSpace(tzid), `"`)
	return tzid, tzid != ""
}

// built keeps the zones built from VTIMEZONEs, by what defines them (see
// zoneKey), for the objects that come again with the same one: a client
// writes the same VTIMEZONE into every event, and building Outlook's,
// whose onsets repeat yearly from 1601, takes milliseconds.
var built = memo[*time.Location]{max: 64}

// builtZone is observed, through built. A VTIMEZONE that cannot be read
// is read again each time.
func builtZone(tzid string, comp *ical.Component) (*time.Location, error) {
	key := zoneKey(tzid, comp)
	if loc, ok := built.get(key); ok {
		return loc, nil
	}
	loc, err := observed(tzid, comp)
	if err != nil {
		return nil, err
	}
	built.put(key, loc)
	return loc, nil
}

// zoneKey is what defines the zone of comp, the VTIMEZONE of tzid: the
// name and, per observance, the properties observed reads.
func zoneKey(tzid string, comp *ical.Component) string {
	var b strings.Builder
	b.WriteString(tzid)
	for _, obs := range comp.Children {
		b.WriteString("\x00")
		b.WriteString(obs.Name)
		for _, name := range []string{ical.PropDateTimeStart, ical.PropTimezoneOffsetFrom, ical.PropTimezoneOffsetTo, ical.PropRecurrenceRule, ical.PropRecurrenceDates} {
			for _, p := range obs.Props[name] {
				b.WriteString("\x00")
				b.WriteString(name)
				b.WriteString(":")
				b.WriteString(p.Value)
			}
		}
	}
	return b.String()
}

// onset is a change of a zone's offset: from the instant at on, the
// clocks are offset seconds ahead of UTC.
type onset struct {
	at     time.Time
	offset int
	dst    bool
}

// observed builds the time zone of comp, the VTIMEZONE of tzid, from
// its observances.
func observed(tzid string, comp *ical.Component) (*time.Location, error) {
	var (
		onsets []onset
		first  time.Time // the earliest onset's, for the offset before it
		before int
	)
	for _, obs := range comp.Children {
		if obs.Name != ical.CompTimezoneStandard && obs.Name != ical.CompTimezoneDaylight {
			continue
		}
		from, to, walls, err := observance(obs)
		if err != nil {
			return nil, fmt.Errorf("caldav: VTIMEZONE %q: %s: %w", tzid, obs.Name, err)
		}
		for _, wall := range walls {
			at := wall.Add(-time.Duration(from) * time.Second)
			onsets = append(onsets, onset{at: at, offset: to, dst: obs.Name == ical.CompTimezoneDaylight})
			if first.IsZero() || at.Before(first) {
				first, before = at, from
			}
		}
	}
	if len(onsets) == 0 {
		return nil, fmt.Errorf("caldav: VTIMEZONE %q: no STANDARD or DAYLIGHT observance", tzid)
	}
	slices.SortStableFunc(onsets, func(a, b onset) int { return a.at.Compare(b.at) })
	data, err := tzif(before, onsets)
	if err != nil {
		return nil, fmt.Errorf("caldav: VTIMEZONE %q: %w", tzid, err)
	}
	loc, err := time.LoadLocationFromTZData(tzid, data)
	if err != nil {
		return nil, fmt.Errorf("caldav: VTIMEZONE %q: %w", tzid, err)
	}
	return loc, nil
}

// observance reads obs, a STANDARD or DAYLIGHT component: its
// TZOFFSETFROM and TZOFFSETTO in seconds, and its onsets as local times
// (given as times in UTC): DTSTART, those of its RRULE up to [horizon]
// and its RDATEs.
func observance(obs *ical.Component) (from, to int, walls []time.Time, err error) {
	if from, err = utcOffset(obs.Props.Get(ical.PropTimezoneOffsetFrom)); err != nil {
		return 0, 0, nil, fmt.Errorf("TZOFFSETFROM: %w", err)
	}
	if to, err = utcOffset(obs.Props.Get(ical.PropTimezoneOffsetTo)); err != nil {
		return 0, 0, nil, fmt.Errorf("TZOFFSETTO: %w", err)
	}
	p := obs.Props.Get(ical.PropDateTimeStart)
	if p == nil {
		return 0, 0, nil, errors.New("no DTSTART")
	}
	start, err := localTime(p.Value)
	if err != nil {
		return 0, 0, nil, fmt.Errorf("DTSTART: %w", err)
	}
	walls = []time.Time{start}
	opt, err := obs.Props.RecurrenceRule()
	if err != nil {
		return 0, 0, nil, err
	}
	if opt != nil {
		opt.Dtstart = start
		if !opt.Until.IsZero() {
			// UNTIL is in UTC (RFC 5545 §3.3.10); the onsets are local
			// times on the clocks before them.
			opt.Until = opt.Until.Add(time.Duration(from) * time.Second)
		}
		if opt.Until.IsZero() || opt.Until.After(horizon) {
			opt.Until = horizon
		}
		if opt.Freq != rrule.YEARLY && opt.Freq != rrule.MONTHLY {
			return 0, 0, nil, fmt.Errorf("RRULE: FREQ=%s, not YEARLY or MONTHLY", opt.Freq)
		}
		rule, err := rrule.NewRRule(*opt)
		if err != nil {
			return 0, 0, nil, fmt.Errorf("RRULE: %w", err)
		}
		next := rule.Iterator()
		for wall, ok := next(); ok; wall, ok = next() {
			if len(walls) > maxOnsets {
				return 0, 0, nil, fmt.Errorf("RRULE: more than %d onsets before %d", maxOnsets, horizon.Year())
			}
			walls = append(walls, wall)
		}
	}
	for _, rd := range obs.Props[ical.PropRecurrenceDates] {
		for v := range strings.SplitSeq(rd.Value, ",") {
			v, _, _ = strings.Cut(v, "/") // a PERIOD's start
			wall, err := localTime(v)
			if err != nil {
				return 0, 0, nil, fmt.Errorf("RDATE: %w", err)
			}
			walls = append(walls, wall)
		}
	}
	return from, to, walls, nil
}

// localTime reads a local DATE-TIME value (a time in UTC for its clock
// fields); the "Z" of one a client wrote in UTC by mistake is ignored.
func localTime(v string) (time.Time, error) {
	return time.Parse("20060102T150405", strings.TrimSuffix(strings.TrimSpace(v), "Z"))
}

// utcOffset reads p, a UTC-OFFSET ("+0100", "-0330", "+013045"), in
// seconds east of UTC.
func utcOffset(p *ical.Prop) (int, error) {
	if p == nil {
		return 0, errors.New("missing")
	}
	v := strings.TrimSpace(p.Value)
	if (len(v) != 5 && len(v) != 7) || v[0] != '+' && v[0] != '-' {
		return 0, fmt.Errorf("invalid UTC offset %q", p.Value)
	}
	secs := 0
	for i, unit := range []int{3600, 60, 1} {
		if 1+2*i >= len(v) {
			break
		}
		n, err := strconv.Atoi(v[1+2*i : 3+2*i])
		if err != nil || n < 0 || n > 59 {
			return 0, fmt.Errorf("invalid UTC offset %q", p.Value)
		}
		secs += n * unit
	}
	if v[0] == '-' {
		secs = -secs
	}
	return secs, nil
}

// tzif encodes a time zone in the TZif form (RFC 8536, version 2): the
// offset before the first onset, standard time, then the onsets, in
// order. The local time types have no abbreviation (time.Time.Format
// writes the offset in its place): a VTIMEZONE's TZNAME is not needed to
// read or write a local time. A zone of more local time types than the
// form's one-byte index can tell apart is an error.
func tzif(before int, onsets []onset) ([]byte, error) {
	type ttinfo struct {
		offset int
		dst    bool
	}
	// Type 0, the offset before the first onset, is used by no
	// transition, so time.Location reads the times before the first
	// onset in it.
	types := []ttinfo{{before, false}}
	index := make([]byte, 0, len(onsets))
	for _, o := range onsets {
		i := slices.Index(types[1:], ttinfo{o.offset, o.dst}) + 1
		if i == 0 {
			types = append(types, ttinfo{o.offset, o.dst})
			i = len(types) - 1
		}
		if i > 255 {
			return nil, errors.New("more than 255 distinct offsets")
		}
		index = append(index, byte(i))
	}
	info := func(t ttinfo) []byte {
		b := binary.BigEndian.AppendUint32(nil, uint32(int32(t.offset)))
		if t.dst {
			return append(b, 1, 0)
		}
		return append(b, 0, 0) // abbreviation: the empty string at 0
	}
	header := func(b []byte, times, typeCount int) []byte {
		b = append(b, "TZif2"...)
		b = append(b, make([]byte, 15)...)
		for _, n := range []int{0, 0, 0, times, typeCount, 1} {
			b = binary.BigEndian.AppendUint32(b, uint32(n))
		}
		return b
	}
	// The version 1 part, which version 2 readers skip: no transitions,
	// the one type before them.
	b := header(nil, 0, 1)
	b = append(b, info(types[0])...)
	b = append(b, 0)
	b = header(b, len(onsets), len(types))
	for _, o := range onsets {
		b = binary.BigEndian.AppendUint64(b, uint64(o.at.Unix()))
	}
	b = append(b, index...)
	for _, t := range types {
		b = append(b, info(t)...)
	}
	b = append(b, 0)
	return append(b, '\n', '\n'), nil // no POSIX TZ string for after the last onset
}
