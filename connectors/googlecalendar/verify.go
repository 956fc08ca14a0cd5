package googlecalendar

import (
	"context"
	"fmt"

	"google.golang.org/api/calendar/v3"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/connectors/internal/verdict"
	"github.com/hmsplatform/synclayer/drift"
)

var _ drift.Repairer = (*Connector)(nil)

// Verify reads the event of rec.Key (events.get of [Connector.EventID])
// and compares it with the event Sync would write for rec, normalised as
// the package doc's Drift section says. The Verdict's ETag is the event's; its
// State is the *calendar.Event read, for [Connector.Repair].
//
//   - No event, or a cancelled one: Missing, or InSync when rec.Delete is
//     set.
//   - An event when rec.Delete is set: Unexpected.
//   - An event with a higher version than rec.Version (and rec
//     versioned): InSync, since Sync would not write over it.
//   - Otherwise Differs with the wire names of the differing fields
//     ("start", "summary", "extendedProperties.private.synclayerVersion"),
//     or InSync.
//
// Errors are those of Sync's read: an event that names another key wraps
// [partner.ErrKeyMismatch], an invalid payload [partner.ErrPayload].
func (c *Connector) Verify(ctx context.Context, rec synclayer.Record) (drift.Verdict, error) {
	id := c.EventID(rec.Key)
	var want *calendar.Event
	if !rec.Delete {
		ev, err := c.event(rec, id)
		if err != nil {
			return drift.Verdict{}, err
		}
		want = ev
	}
	cur, err := c.get(ctx, id, rec.Key)
	if err != nil {
		return drift.Verdict{}, err
	}
	var held verdict.Held
	if cur != nil {
		// A cancelled event is none, but Repair restores it by an update
		// conditional on its ETag.
		held = verdict.Held{Exists: cur.Status != "cancelled", Newer: newer(cur, rec), ETag: cur.Etag, State: cur}
	}
	return verdict.Of(rec, held, func() ([]string, error) { return c.diff(want, cur), nil })
}

// Repair writes rec over the event v describes, with the call Sync would
// make, conditional on what Verify read: events.update with If-Match:
// v.ETag (which also restores a cancelled event), events.insert when
// there was no event at all, or for a record to delete events.delete
// with If-Match. An update keeps the owned fields of v.State. An InSync
// verdict writes nothing.
//
// When the event changed since v was read (412 conditionNotMet, or 409
// when an event was created meanwhile), nothing is written and the
// error wraps [drift.ErrConflict] and [partner.ErrConflict].
func (c *Connector) Repair(ctx context.Context, rec synclayer.Record, v drift.Verdict) error {
	if verdict.Settled(rec, v) {
		return nil
	}
	id := c.EventID(rec.Key)
	held, _ := v.State.(*calendar.Event)
	if held == nil && v.Kind != drift.Missing || held != nil && v.ETag == "" {
		return synclayer.Permanent(fmt.Errorf("googlecalendar: key %q: repair of a %s verdict without the event and ETag Verify read", rec.Key, v.Kind))
	}
	if rec.Delete {
		etag := v.ETag
		if held != nil { // as Sync does, write the delete's version first
			cur := *held
			cur.Etag = v.ETag
			var err error
			etag, err = c.stamp(ctx, id, &cur, rec)
			switch {
			case hasReason(err, 404, ""), hasReason(err, 410, ""):
				return nil
			case hasReason(err, 412, ""):
				return c.conflictErr("update", id, rec.Key, err)
			case err != nil:
				return c.classify("update", id, rec.Key, err)
			}
		}
		del := c.events.Delete(c.cfg.CalendarID, id).Context(ctx)
		if c.cfg.SendUpdates != "" {
			del.SendUpdates(c.cfg.SendUpdates)
		}
		del.Header().Set("If-Match", etag)
		err := del.Do()
		switch {
		case err == nil, hasReason(err, 404, ""), hasReason(err, 410, ""):
			return nil
		case hasReason(err, 412, ""):
			return c.conflictErr("delete", id, rec.Key, err)
		}
		return c.classify("delete", id, rec.Key, err)
	}
	ev, err := c.event(rec, id)
	if err != nil {
		return err
	}
	if held == nil { // none at all: create it, unless someone did meanwhile
		_, err = c.insert(ctx, ev)
		if hasReason(err, 409, "") {
			return c.conflictErr("insert", id, rec.Key, err)
		}
		return c.classify("insert", id, rec.Key, err)
	}
	cur := *held
	cur.Etag = v.ETag
	err = c.update(ctx, id, ev, &cur)
	if hasReason(err, 412, "") || hasReason(err, 404, "") || hasReason(err, 410, "") {
		return c.conflictErr("update", id, rec.Key, err)
	}
	return c.classify("update", id, rec.Key, err)
}

// conflictErr is the error of a conditional write that met a change made
// after Verify: the API's error, wrapping drift.ErrConflict too.
func (c *Connector) conflictErr(op, id, key string, err error) error {
	return fmt.Errorf("%w (%w)", c.classify(op, id, key, err), drift.ErrConflict)
}
