package googlecalendar

import (
	"fmt"
	"maps"
	"reflect"
	"strings"

	"google.golang.org/api/calendar/v3"

	"github.com/hmsplatform/synclayer/internal/option"
)

// eventFields maps each wire name of calendar.Event to its field index.
var eventFields = func() map[string]int {
	m := map[string]int{}
	t := reflect.TypeFor[calendar.Event]()
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name != "" && name != "-" {
			m[name] = i
		}
	}
	return m
}()

// ownedSet checks Config.OwnedFields and returns them by wire name.
func ownedSet(names []string) (map[string]bool, error) {
	if len(names) == 0 {
		return nil, nil
	}
	set := make(map[string]bool, len(names))
	for _, n := range names {
		if rest, ok := strings.CutPrefix(n, "extendedProperties."); ok {
			scope, key, _ := strings.Cut(rest, ".")
			switch {
			case scope != "private" && scope != "shared" || key == "":
				return nil, fmt.Errorf("googlecalendar: %w: Config.OwnedFields: %q is not extendedProperties.private.<name> or extendedProperties.shared.<name>", option.ErrInvalid, n)
			case scope == "private" && (key == PropertyKey || key == PropertyVersion):
				return nil, fmt.Errorf("googlecalendar: %w: Config.OwnedFields: %s identifies the record and cannot be owned by the partner", option.ErrInvalid, n)
			}
			set[n] = true
			continue
		}
		canon := ""
		for name := range eventFields {
			if strings.EqualFold(name, n) {
				canon = name
			}
		}
		switch canon {
		case "":
			return nil, fmt.Errorf("googlecalendar: %w: Config.OwnedFields: %q is not a field of a calendar event", option.ErrInvalid, n)
		case "id", "extendedProperties", "status":
			return nil, fmt.Errorf("googlecalendar: %w: Config.OwnedFields: %s cannot be owned by the partner (name single extended properties instead)", option.ErrInvalid, canon)
		}
		set[canon] = true
	}
	return set, nil
}

// keepOwned sets the owned fields of want, an event Sync writes, to their
// values in held, the event Google holds (absent ones cleared).
func (c *Connector) keepOwned(want, held *calendar.Event) {
	if len(c.owned) == 0 || held == nil {
		return
	}
	w, h := reflect.ValueOf(want).Elem(), reflect.ValueOf(held).Elem()
	for name := range c.owned {
		if i, ok := eventFields[name]; ok {
			w.Field(i).Set(h.Field(i))
			continue
		}
		rest, _ := strings.CutPrefix(name, "extendedProperties.")
		scope, key, _ := strings.Cut(rest, ".")
		if want.ExtendedProperties == nil {
			want.ExtendedProperties = &calendar.EventExtendedProperties{}
		}
		m := &want.ExtendedProperties.Private
		if scope == "shared" {
			m = &want.ExtendedProperties.Shared
		}
		*m = maps.Clone(*m)
		if v, ok := props(held, scope)[key]; ok {
			if *m == nil {
				*m = map[string]string{}
			}
			(*m)[key] = v
		} else {
			delete(*m, key)
		}
	}
}
