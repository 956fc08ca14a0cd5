package synclayer

import "github.com/hmsplatform/synclayer/internal/enum"

// Drift is the result of the last check of a ledger entry: what a partner
// held of a record compared with what synclayer would push (see package
// drift, whose Verifiers give it).
type Drift int

const (
	// InSync: the partner's record matches, once normalised the way that
	// partner stores it, except perhaps in fields the partner owns.
	InSync Drift = iota + 1
	// DriftMissing: the partner has no record for the key (deleted by
	// hand, or never arrived).
	DriftMissing
	// DriftDiffers: the partner's record differs in some fields.
	DriftDiffers
	// DriftUnexpected: the partner holds a record for a key that should be
	// absent (a delete undone, or a record added by hand).
	DriftUnexpected
)

// off reports whether the check found the partner's record off: missing,
// different, or there when it should not be. It is the drift half of
// Holding.Behind.
func (d Drift) off() bool { return d == DriftMissing || d == DriftDiffers || d == DriftUnexpected }

var driftEnum = enum.Names{Type: "Drift", Names: []string{InSync: "in-sync", DriftMissing: "missing", DriftDiffers: "differs", DriftUnexpected: "unexpected"}}

// String returns "in-sync", "missing", "differs" or "unexpected", or
// "Drift(n)" for an unknown value.
func (d Drift) String() string { return driftEnum.String(int(d)) }

// MarshalText encodes the drift as its name; an unknown value is an error.
func (d Drift) MarshalText() ([]byte, error) { return driftEnum.MarshalText(int(d)) }

// UnmarshalText decodes a drift name; anything else is an error.
func (d *Drift) UnmarshalText(b []byte) error { return enum.Decode(driftEnum, b, d) }
