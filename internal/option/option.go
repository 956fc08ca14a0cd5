// Package option holds the one rule that every synclayer constructor follows
// for its functional options:
//
//   - a zero or nil value means the default;
//   - an invalid value makes the constructor return an error that wraps
//     ErrInvalid and names the option;
//   - nothing panics;
//   - "off" is a named value (NoObserver, NoDeliveryLog, …), never nil.
//
// A package declares its option type as a function that may fail,
//
//	type Option func(*config) error
//
// and its constructor calls Apply. The checks below give every package the same
// error text for the same mistake.
package option

import (
	"cmp"
	"errors"
	"fmt"
)

// ErrInvalid is wrapped by every error an option or constructor returns for a
// bad value. The root package re-exports it as synclayer.ErrInvalidOption.
var ErrInvalid = errors.New("invalid option")

// Apply runs opts over c in order and stops at the first error, which it
// returns prefixed with the constructor's name. A nil option is skipped, so
// callers can build option lists conditionally.
func Apply[T any, O ~func(*T) error](constructor string, c *T, opts []O) error {
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o(c); err != nil {
			return fmt.Errorf("%s: %w", constructor, err)
		}
	}
	return nil
}

// Kind returns a package's own sentinel for a bad argument to its
// constructors (a nil *sql.DB, an unknown dialect): an error with the given
// text that errors.Is also matches to ErrInvalid, so that one check finds
// every bad option or argument the library is given, while the package's
// sentinel keeps its own name and text.
func Kind(text string) error { return &kind{text} }

type kind struct{ text string }

func (k *kind) Error() string { return k.text }

// Is makes errors.Is(k, ErrInvalid) hold.
func (k *kind) Is(target error) bool { return target == ErrInvalid }

// Invalid returns an error wrapping ErrInvalid that names the option and says
// what is wrong with the value it was given.
func Invalid(option string, value any, why string) error {
	return fmt.Errorf("%w %s(%v): %s", ErrInvalid, option, value, why)
}

// NonNegative rejects a negative value. Zero passes: it means the default.
func NonNegative[N cmp.Ordered](option string, v N) error {
	var zero N
	if v < zero {
		return Invalid(option, v, "must not be negative")
	}
	return nil
}

// Set is the rule of a numeric option named name: a negative v is an
// error naming it, and nothing is stored; otherwise *to becomes v, or def
// when v is zero.
func Set[N cmp.Ordered](name string, v, def N, to *N) error {
	if err := NonNegative(name, v); err != nil {
		return err
	}
	*to = Default(v, def)
	return nil
}

// Default returns v, or def when v is the zero value.
func Default[V comparable](v, def V) V {
	var zero V
	if v == zero {
		return def
	}
	return v
}
