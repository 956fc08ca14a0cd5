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
// nil, the owned properties are taken from it instead.
func (c *Connector) body(key string, version int64, ev Event, held *ical.Component) ([]byte, error) {
	cal, err := c.build(key, version, ev)
	if err != nil {
		return nil, err
	}
	if held != nil {
		want := cal.Children[0]
		for name := range c.owned {
			want.Props.Del(name)
			if ps := held.Props[name]; len(ps) > 0 {
				want.Props[name] = append([]ical.Prop(nil), ps...)
			}
		}
	}
	return serialise(cal)
}
