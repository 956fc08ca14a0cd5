package conntest

import (
	"errors"
	"slices"
	"testing"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/drift"
)

// Verifier is a connector that verifies and repairs its records.
type Verifier interface {
	synclayer.Connector
	drift.Verifier
	drift.Repairer
}

// Push syncs rec through c and fails the test at once if it fails.
func Push(t testing.TB, c synclayer.Connector, rec synclayer.Record) {
	t.Helper()
	if err := c.Sync(t.Context(), rec); err != nil {
		t.Fatalf("Sync %s: %v", rec.Key, err)
	}
}

// Verify runs c's Verify of rec and fails the test at once unless it
// succeeds with kind and exactly fields (none when fields is empty).
func Verify(t testing.TB, c drift.Verifier, rec synclayer.Record, kind drift.Kind, fields ...string) drift.Verdict {
	t.Helper()
	v, err := c.Verify(t.Context(), rec)
	if err != nil {
		t.Fatalf("Verify %s: %v", rec.Key, err)
	}
	if v.Kind != kind || !slices.Equal(v.Fields, fields) {
		t.Fatalf("Verify %s = %v %q, want %v %q", rec.Key, v.Kind, v.Fields, kind, fields)
	}
	return v
}

// Repair runs c's Repair of rec over v and fails the test at once if it
// fails.
func Repair(t testing.TB, c drift.Repairer, rec synclayer.Record, v drift.Verdict) {
	t.Helper()
	if err := c.Repair(t.Context(), rec, v); err != nil {
		t.Fatalf("Repair %s: %v", rec.Key, err)
	}
}

// DriftCase is one way the record of a drift test can change at the
// partner after it was pushed, and the verdict Verify must give.
type DriftCase[P any] struct {
	Name string
	// Delete verifies the key's delete ([Drift].Deleted) in place of the
	// record.
	Delete bool
	// Before changes the partner P after the push; nil changes nothing.
	Before func(P)
	// During changes the partner between Verify and Repair (conflict
	// cases only).
	During func(P)
	// Kept, when not nil, checks that the partner kept During's edit.
	Kept func(*testing.T, P)
	// Want and Fields are the verdict Verify must give (for conflict
	// cases, Want is checked when set; any drift will do otherwise).
	Want   drift.Kind
	Fields []string
}

// Drift is one connector's drift scenarios: a record is pushed to a fresh
// partner fake, changed there by hand, and verified and repaired.
type Drift[P any] struct {
	// New returns a fresh partner fake and a connector that writes to it.
	New func(t *testing.T) (P, Verifier)
	// Record is the record pushed; Deleted is its delete, verified by the
	// cases with Delete set.
	Record, Deleted synclayer.Record
}

// start runs the first steps of every case: a fresh partner, the push,
// tc.Before, and the record to verify.
func (d Drift[P]) start(t *testing.T, tc DriftCase[P]) (P, Verifier, synclayer.Record) {
	p, c := d.New(t)
	Push(t, c, d.Record)
	if tc.Before != nil {
		tc.Before(p)
	}
	if tc.Delete {
		return p, c, d.Deleted
	}
	return p, c, d.Record
}

// VerifyCases runs each case as a subtest: Verify must give the case's kind
// and fields. watch, when not nil, is called just before Verify and
// returns the connector's own checks of the verdict and of what Verify
// did at the partner.
func (d Drift[P]) VerifyCases(t *testing.T, cases []DriftCase[P], watch func(*testing.T, P) func(*testing.T, drift.Verdict)) {
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			p, c, rec := d.start(t, tc)
			var check func(*testing.T, drift.Verdict)
			if watch != nil {
				check = watch(t, p)
			}
			v := Verify(t, c, rec, tc.Want, tc.Fields...)
			if check != nil {
				check(t, v)
			}
		})
	}
}

// RepairCases runs each case as a subtest: Verify must give the case's kind,
// Repair must succeed, and Verify must then find the record in sync.
// held reads what the partner holds for the key, right after the push
// and again after the repair; restored checks the second against the
// first (with del set for a delete's repair, where nothing must be held).
func RepairCases[P, S any](t *testing.T, d Drift[P], cases []DriftCase[P], held func(*testing.T, P) S, restored func(t *testing.T, del bool, pushed, now S)) {
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			var pushed S
			first := tc
			first.Before = func(p P) {
				pushed = held(t, p)
				if tc.Before != nil {
					tc.Before(p)
				}
			}
			p, c, rec := d.start(t, first)
			v, err := c.Verify(t.Context(), rec)
			if err != nil || v.Kind != tc.Want {
				t.Fatalf("Verify = %v, %v; want %v", v.Kind, err, tc.Want)
			}
			Repair(t, c, rec, v)
			restored(t, tc.Delete, pushed, held(t, p))
			if v, err := c.Verify(t.Context(), rec); err != nil || v.Kind != drift.InSync {
				t.Fatalf("Verify after Repair = %v %q, %v; want in-sync", v.Kind, v.Fields, err)
			}
		})
	}
}

// ConflictCases runs each case as a subtest: Verify must find drift (of
// the case's kind, when Want is set), a Repair after the case's During
// edit must fail with drift.ErrConflict, and the partner must keep
// During's edit (Kept).
// watch, when not nil, is called just before Repair and returns the
// connector's own checks of the error and of what Repair did.
func (d Drift[P]) ConflictCases(t *testing.T, cases []DriftCase[P], watch func(*testing.T, P) func(*testing.T, error)) {
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			p, c, rec := d.start(t, tc)
			v, err := c.Verify(t.Context(), rec)
			if err != nil || v.Kind == drift.InSync || (tc.Want != 0 && v.Kind != tc.Want) {
				t.Fatalf("Verify = %v, %v; want drift (%v when set)", v.Kind, err, tc.Want)
			}
			tc.During(p)
			var check func(*testing.T, error)
			if watch != nil {
				check = watch(t, p)
			}
			err = c.Repair(t.Context(), rec, v)
			if !errors.Is(err, drift.ErrConflict) {
				t.Fatalf("Repair over a later edit = %v, want drift.ErrConflict", err)
			}
			if check != nil {
				check(t, err)
			}
			if tc.Kept != nil {
				tc.Kept(t, p)
			}
		})
	}
}
