// Package drift finds and repairs the records a partner no longer holds as
// synclayer pushed them: edited or deleted by hand, rewritten or truncated
// by the partner, or added where none should be.
//
// A connector that can read the partner's state implements [Verifier] (and
// [Repairer], to write over exactly what it read). A [Reconciler] walks the
// Dispatcher's freshness ledger, or the caller's source of truth, at a set
// rate, verifies each key, announces [Detected], and when told to repair,
// pushes the wanted record again through the Dispatcher's claim path and
// announces [Repaired].
package drift

import (
	"context"
	"errors"

	"github.com/hmsplatform/synclayer"
)

// Kind is the outcome of comparing what a partner holds with the record
// synclayer would push: the verdict of a [Verifier]. It is the root
// package's [synclayer.Drift], so a Verdict goes into the ledger as it is.
type Kind = synclayer.Drift

// The kinds of drift.
const (
	InSync     = synclayer.InSync
	Missing    = synclayer.DriftMissing
	Differs    = synclayer.DriftDiffers
	Unexpected = synclayer.DriftUnexpected
)

// Verdict is what a [Verifier] found at the partner for one record.
type Verdict struct {
	Kind Kind
	// Fields names the fields that differ, in the record's own names
	// (the partner's wire names), sorted; set when Kind is Differs.
	Fields []string
	// ETag is the partner's tag of the state that was read ("" when the
	// partner has none): a [Repairer] writes only over that state.
	ETag string
	// State is the partner's record as read, in the connector's own form,
	// for its Repairer (to keep the fields the partner owns). Callers
	// other than the connector treat it as opaque.
	State any
}

// Verifier is an optional interface of a [synclayer.Connector] that can read the
// partner's current state of a record and compare it with the record it
// would push.
//
// Verify reads rec.Key at the partner and compares, normalised the way the
// partner stores it (time zones, case folding, number rounding, fields the
// partner fills in itself), with rec as Sync would write it. Fields the
// connector's configuration names as owned by the partner are never
// compared. A record with rec.Delete set is in sync when the partner has
// none. Verify makes read requests only, classifies its errors as Sync
// does, and returns promptly when ctx is done. A connector that cannot
// read its partner as configured (a SOAP partner without a read
// operation) returns an error wrapping [errors.ErrUnsupported], and the
// [Reconciler] passes its records by.
type Verifier interface {
	Verify(ctx context.Context, rec synclayer.Record) (Verdict, error)
}

// Repairer is an optional interface of a [Verifier] that writes a repair
// over exactly the state a Verify read.
//
// Repair pushes rec over the partner state v describes: the fields the
// partner owns keep their values from v.State, and where the partner has
// ETags the write is conditional on v.ETag (If-Match). When the partner's
// record changed since v was read, Repair writes nothing and returns an
// error wrapping [ErrConflict]; the [Reconciler] then reads again and
// decides again. A Verifier without Repair is repaired with Sync.
type Repairer interface {
	Repair(ctx context.Context, rec synclayer.Record, v Verdict) error
}

// ErrConflict reports that a partner's record changed between a read and a
// conditional write (HTTP 412 Precondition Failed, or an ETag or version
// that no longer matches).
var ErrConflict = errors.New("drift: the partner's record changed since it was read")

// Announcement event types: a [Reconciler] publishes one to its
// [synclayer.Publisher] for every key it finds drifted, and one for every
// key it repairs, with a [Report] as Data.
const (
	Detected = "DriftDetected"
	Repaired = "DriftRepaired"
)

// Report is the JSON Data of a DriftDetected or DriftRepaired event:
//
//	{"connector":"gis","key":"WF-1","drift":"differs","fields":["name"],"version":3}
type Report struct {
	Connector string   `json:"connector"`
	Key       string   `json:"key"`
	Drift     Kind     `json:"drift"`
	Fields    []string `json:"fields,omitempty"`
	Version   int64    `json:"version,omitempty"` // the record's version the check compared with
}
