package synclayer

import (
	"fmt"
	"strconv"
)

// enum is the one pattern behind every exported enum of the package
// ([Status], [Status], [ClaimStatus], [BreakerState]): the names sit
// in a table indexed by value, and an unknown value behaves the same way
// for all of them. String gives "Type(n)", MarshalText fails, and
// UnmarshalText accepts only a name of the table.
type enum struct {
	typ   string
	names []string // by value; "" marks a value that is not in use
}

func (e enum) String(v int) string {
	if v >= 0 && v < len(e.names) && e.names[v] != "" {
		return e.names[v]
	}
	return e.typ + "(" + strconv.Itoa(v) + ")"
}

func (e enum) MarshalText(v int) ([]byte, error) {
	if v >= 0 && v < len(e.names) && e.names[v] != "" {
		return []byte(e.names[v]), nil
	}
	return nil, fmt.Errorf("synclayer: unknown %s %d", e.typ, v)
}

func (e enum) UnmarshalText(b []byte) (int, error) {
	for v, n := range e.names {
		if n != "" && n == string(b) {
			return v, nil
		}
	}
	return 0, fmt.Errorf("synclayer: unknown %s %q", e.typ, b)
}
