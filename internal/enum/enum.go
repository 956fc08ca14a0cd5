// Package enum is the one pattern behind every exported enum of the
// module (synclayer.Status, synclayer.BreakerState, synclayer.Drift,
// idempotency.ClaimStatus): the names sit in a table indexed by value, and
// an unknown value behaves the same way for all of them. String gives
// "Type(n)", MarshalText fails, and UnmarshalText accepts only a name of
// the table.
package enum

import (
	"fmt"
	"strconv"
)

// Names is one enum's table of names.
type Names struct {
	Type  string   // the Go type's name, for "Type(n)" and error texts
	Names []string // by value; "" marks a value that is not in use
}

// String returns the name of v, or "Type(n)" for an unknown value.
func (e Names) String(v int) string {
	if v >= 0 && v < len(e.Names) && e.Names[v] != "" {
		return e.Names[v]
	}
	return e.Type + "(" + strconv.Itoa(v) + ")"
}

// MarshalText returns the name of v; an unknown value is an error.
func (e Names) MarshalText(v int) ([]byte, error) {
	if v >= 0 && v < len(e.Names) && e.Names[v] != "" {
		return []byte(e.Names[v]), nil
	}
	return nil, fmt.Errorf("synclayer: unknown %s %d", e.Type, v)
}

// UnmarshalText returns the value named b; any other text is an error.
func (e Names) UnmarshalText(b []byte) (int, error) {
	for v, n := range e.Names {
		if n != "" && n == string(b) {
			return v, nil
		}
	}
	return 0, fmt.Errorf("synclayer: unknown %s %q", e.Type, b)
}

// Decode sets *to to the value named b, for an UnmarshalText method of a
// type whose underlying type is int; any other text is an error and leaves
// *to as it was.
func Decode[T ~int](e Names, b []byte, to *T) error {
	v, err := e.UnmarshalText(b)
	if err == nil {
		*to = T(v)
	}
	return err
}
