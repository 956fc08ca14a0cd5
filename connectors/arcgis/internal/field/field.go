// Package field reads a feature's attributes by field name as ArcGIS
// compares field names: without regard to case. The connector and its
// fake layer share it, so that both read a key field spelled "sync_key"
// from a layer that spells it "SYNC_KEY".
package field

import "strings"

// Get returns the attribute name of attrs, the name compared without
// regard to case; an exact spelling wins. It returns nil when attrs has
// no such field.
func Get(attrs map[string]any, name string) any {
	if v, ok := attrs[name]; ok {
		return v
	}
	for k, v := range attrs {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return nil
}
