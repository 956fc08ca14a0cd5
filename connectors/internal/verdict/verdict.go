// Package verdict holds the rules by which every connector's Verify
// judges a record against what the partner holds, and by which Repair
// knows it has nothing to write, written once. A connector reads the
// partner its own way and names the differing fields its own way; the
// verdict that follows is the same for all.
package verdict

import (
	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/drift"
)

// Held is what a connector found at the partner for a record's key.
type Held struct {
	// Exists: the partner holds the key (a cancelled event is none).
	Exists bool
	// Newer: what it holds carries a version newer than the record's,
	// which Sync would not write over.
	Newer bool
	// ETag and State become the verdict's, whatever the kind.
	ETag  string
	State any
}

// Of judges rec against h:
//
//   - nothing held: [drift.Missing], or [drift.InSync] for a delete;
//   - a newer version held: [drift.InSync];
//   - anything held for a delete: [drift.Unexpected];
//   - otherwise [drift.Differs] with the fields diff names, or
//     [drift.InSync] when it names none.
//
// diff is called only in the last case, and its error is Of's.
func Of(rec synclayer.Record, h Held, diff func() ([]string, error)) (drift.Verdict, error) {
	v := drift.Verdict{Kind: drift.InSync, ETag: h.ETag, State: h.State}
	switch {
	case !h.Exists:
		if !rec.Delete {
			v.Kind = drift.Missing
		}
	case h.Newer:
		// A newer version is there: Sync leaves it alone.
	case rec.Delete:
		v.Kind = drift.Unexpected
	default:
		fields, err := diff()
		if err != nil {
			return drift.Verdict{}, err
		}
		if v.Fields = fields; len(fields) > 0 {
			v.Kind = drift.Differs
		}
	}
	return v, nil
}

// Settled reports whether v leaves Repair nothing to write for rec: the
// partner is in sync, or holds nothing of a record to delete.
func Settled(rec synclayer.Record, v drift.Verdict) bool {
	return v.Kind == drift.InSync || rec.Delete && v.Kind == drift.Missing
}
