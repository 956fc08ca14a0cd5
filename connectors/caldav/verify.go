package caldav

import (
	"context"
	"fmt"
	"net/http"
	"slices"

	"github.com/emersion/go-ical"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/connectors/internal/verdict"
	"github.com/hmsplatform/synclayer/connectors/partner"
	"github.com/hmsplatform/synclayer/drift"
	"github.com/hmsplatform/synclayer/internal/httpx"
)

var _ drift.Repairer = (*Connector)(nil)

// Verify reads the object of rec.Key, the one Sync writes, with one GET
// and compares its VEVENT with the one Sync would write for rec, normalised as the
// package doc's Drift section says. The Verdict's ETag is the object's; its
// State is the object as read, for [Connector.Repair].
//
//   - No object: Missing, or InSync when rec.Delete is set.
//   - An object when rec.Delete is set: Unexpected.
//   - An object with a higher X-SYNCLAYER-VERSION than rec.Version (and
//     rec versioned): InSync, since Sync would not write over it.
//   - Otherwise Differs with the names of the differing properties
//     ("DTSTART", "SUMMARY"; "RECURRENCE-ID" when the object holds
//     overrides of single occurrences, "VEVENT" when it holds no event
//     that parses), or InSync.
//
// Errors are those of Sync's read: an object that names another key wraps
// [partner.ErrKeyMismatch], an invalid payload [partner.ErrPayload].
func (c *Connector) Verify(ctx context.Context, rec synclayer.Record) (drift.Verdict, error) {
	var want *ical.Component
	if !rec.Delete {
		ev, err := c.payload(rec)
		if err != nil {
			return drift.Verdict{}, err
		}
		cal, err := c.build(rec.Key, rec.Version, ev)
		if err != nil {
			return drift.Verdict{}, c.invalid(rec.Key, err)
		}
		want = cal.Children[0]
	}
	cur, etag, exists, err := c.get(ctx, c.ObjectURL(rec.Key), rec.Key)
	if err != nil {
		return drift.Verdict{}, err
	}
	var held verdict.Held
	if exists {
		held = verdict.Held{Exists: true, Newer: rec.Version != 0 && cur.version > rec.Version, ETag: etag, State: cur}
	}
	return verdict.Of(rec, held, func() ([]string, error) {
		if cur.master() == nil {
			return []string{ical.CompEvent}, nil
		}
		z := zonesOf(cur.cal)
		if len(c.owned) > 0 {
			// The end Sync writes can depend on an owned start.
			c.keep(want, cur.master(), z)
		}
		fields := c.diff(want, cur.master(), z)
		if cur.events() > 1 && !c.owned[ical.PropRecurrenceID] {
			fields = append(fields, ical.PropRecurrenceID)
			slices.Sort(fields)
		}
		return fields, nil
	})
}

// Repair writes rec over the object v describes, with the request Sync
// would send, conditional on what Verify read: a PUT with If-Match:
// v.ETag (If-None-Match: * when v is Missing), or for a record to delete a
// DELETE with If-Match. The owned properties keep the values of v.State.
// An InSync verdict writes nothing.
//
// When the object changed since v was read (412 Precondition Failed),
// nothing is written and the error wraps [drift.ErrConflict] and
// [partner.ErrConflict].
func (c *Connector) Repair(ctx context.Context, rec synclayer.Record, v drift.Verdict) error {
	if verdict.Settled(rec, v) {
		return nil
	}
	target := c.ObjectURL(rec.Key)
	create := v.Kind == drift.Missing
	if !create && v.ETag == "" {
		return synclayer.Permanent(fmt.Errorf("caldav: key %q: repair of a %s verdict without the ETag Verify read", rec.Key, v.Kind))
	}
	var (
		done bool
		err  error
	)
	method := http.MethodPut
	if rec.Delete {
		method = http.MethodDelete
		done, err = c.remove(ctx, target, v.ETag)
	} else {
		ev, perr := c.payload(rec)
		if perr != nil {
			return perr
		}
		var held *ical.Component
		var heldCal *ical.Calendar
		if s, ok := v.State.(stored); ok && len(c.owned) > 0 {
			held, heldCal = s.master(), s.cal
		}
		body, berr := c.body(rec.Key, rec.Version, ev, held, heldCal)
		if berr != nil {
			return c.invalid(rec.Key, berr)
		}
		done, err = c.put(ctx, target, body, v.ETag, !create, rec.Key)
	}
	if err != nil || done {
		return err
	}
	return &partner.Error{Prefix: "caldav", Method: method, URL: httpx.RedactURL(mustParse(target), false), StatusCode: http.StatusPreconditionFailed,
		Status: "412 Precondition Failed", Kind: partner.ErrConflict, Err: fmt.Errorf("key %q: %w", rec.Key, drift.ErrConflict)}
}
