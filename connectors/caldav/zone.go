package caldav

import (
	"fmt"
	"strings"
	"time"

	"github.com/emersion/go-ical"
	"github.com/hmsplatform/synclayer/connectors/internal/wallclock"
)

// A DATE-TIME with a TZID parameter is a local time in the zone the TZID
// names, and the object carries a VTIMEZONE of that TZID (RFC 5545
// §3.2.19, §3.6.5). The connector reads such a time by the IANA zone the
// name gives, not by the VTIMEZONE's rules, as calendar servers and
// clients do; what it writes keeps the TZID as written, with the
// VTIMEZONE. Names in use besides IANA's: the Windows zone names of
// Outlook and Exchange-based servers ("W. Europe Standard Time"), and
// IANA names behind a path ("/mozilla.org/20050126_1/Europe/Berlin").
// A TZID that gives no IANA zone is read by its VTIMEZONE's rules
// (vtimezone.go).

// location returns the time zone a TZID names: an IANA name
// time.LoadLocation knows; else a Windows zone name, through
// [windowsZones]; else the longest tail after a "/" of the name that is
// an IANA name. Double quotes around the name are dropped. ok is false
// when none of these is found, and for "" and "Local", which
// LoadLocation would take as UTC and as the machine's zone.
func location(tzid string) (loc *time.Location, ok bool) {
	tzid = strings.Trim(strings.TrimSpace(tzid), `"`)
	if tzid == "" || tzid == "Local" {
		return nil, false
	}
	loc, known := locations.get(tzid)
	if !known {
		loc = lookUp(tzid)
		locations.put(tzid, loc)
	}
	return loc, loc != nil
}

// locations keeps what location found of each TZID, nil for none:
// time.LoadLocation reads the zone's file each time it is called.
var locations = memo[*time.Location]{max: 256}

// lookUp is location, uncached; nil when the name gives no zone.
func lookUp(tzid string) *time.Location {
	if loc, err := time.LoadLocation(tzid); err == nil {
		return loc
	}
	if name, found := windowsZones[tzid]; found {
		if loc, err := time.LoadLocation(name); err == nil {
			return loc
		}
	}
	for i, c := range tzid {
		if tail := tzid[i+1:]; c == '/' && tail != "" && tail != "Local" {
			if loc, err := time.LoadLocation(tail); err == nil {
				return loc
			}
		}
	}
	return nil
}

// find returns the time zone a TZID names: the one [location] gives,
// else the one of z, the object's VTIMEZONEs, of that TZID (double
// quotes around it dropped).
func (z zones) find(tzid string) (loc *time.Location, ok bool) {
	if loc, ok := location(tzid); ok {
		return loc, true
	}
	loc, ok = z[strings.Trim(strings.TrimSpace(tzid), `"`)]
	return loc, ok
}

// dateTime reads p, a DATE-TIME, as an instant: in UTC when it ends in
// "Z", else in the zone its TZID names ([zones.find]), a local time at a
// change of the zone's offset as RFC 5545 reads it ([wallclock.In]); a
// floating time (no TZID) is read as UTC. A TZID that names no zone
// known is an error.
func (z zones) dateTime(p *ical.Prop) (time.Time, error) {
	tzid := p.Params.Get(ical.ParamTimezoneID)
	if tzid == "" || strings.HasSuffix(p.Value, "Z") {
		return p.DateTime(time.UTC)
	}
	loc, ok := z.find(tzid)
	if !ok {
		return time.Time{}, fmt.Errorf("caldav: %s: unknown time zone %q", p.Name, tzid)
	}
	wall, err := time.Parse("20060102T150405", p.Value)
	if err != nil {
		return time.Time{}, fmt.Errorf("caldav: %s: %w", p.Name, err)
	}
	return wallclock.In(wall, loc), nil
}
