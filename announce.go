package synclayer

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"time"
)

// announceConnector is the reserved store namespace of announcements: their
// done-markers make them at-least-once with deduplication, like pushes.
const announceConnector = "$announce"

// announce publishes SyncCompleted or SyncFailed for rep, once per event and
// outcome. It stays silent when some route did not finish (a store failure,
// a cancelled context): the event will be redelivered and announced then.
//
// Under Run, with a store across the network, the announcement's done-marker
// is written after the handler returns, so the bus's acknowledgement does
// not wait a round trip for it: if that write is lost, a later redelivery
// announces again, which at-least-once allows.
func (d *Dispatcher) announce(ctx context.Context, rep Report, fromBus bool) error {
	kind := SyncCompleted
	for _, r := range rep.Results {
		if r.Status == StatusPending {
			return nil // announced when the pending route is pushed
		}
		if r.Status == StatusFailed {
			if !IsPermanent(r.Err) {
				return nil
			}
			kind = SyncFailed
		}
	}
	ev := rep.Event
	c := Claim{
		Connector: announceConnector,
		Key:       ev.ID,
		EventID:   kind + "/" + ev.ID,
		LeaseTTL:  d.leaseTTL, // a redelivery after it ends announces again
		Retention: d.retention,
	}
	// In process, duplicates of one event wait for each other here, so only
	// another process's lease (live, or left by a crash) reads as busy.
	if err := d.announceLocks.lock(ctx, ev.ID); err != nil {
		return fmt.Errorf("synclayer: event %s: announce %s: %w", quote(ev.ID), kind, err)
	}
	defer d.announceLocks.unlock(ev.ID)
	cr, err := d.store.Claim(ctx, c)
	if err != nil {
		return fmt.Errorf("synclayer: event %s: announce %s: %w: %w", quote(ev.ID), kind, ErrStore, err)
	}
	switch cr.Status {
	case ClaimDone:
		return nil // announced before
	case ClaimBusy:
		// Another process is announcing it now, or died doing so: ask for a
		// redelivery, so the announcement is made once that lease ends.
		return busyErr(cr.Expires, time.Until(cr.Expires), fmt.Errorf("synclayer: event %s: %w: %s is being announced elsewhere",
			quote(ev.ID), ErrPublish, kind))
	}
	out, err := announcement(d.source, kind, rep)
	if err == nil {
		err = d.pub.Publish(ctx, out)
	}
	if err != nil {
		_ = settle(ctx, d.store.Release, c, cr.Token) // the lease expires anyway
		return fmt.Errorf("synclayer: event %s: %w: %s: %w", quote(ev.ID), ErrPublish, kind, err)
	}
	if _, local := d.store.(*MemoryStore); fromBus && !local {
		d.finishLater(ctx, func(ctx context.Context) { _ = settle(ctx, d.store.Complete, c, cr.Token) })
		return nil
	}
	if err := settle(ctx, d.store.Complete, c, cr.Token); err != nil {
		return fmt.Errorf("synclayer: event %s: announce %s: published, but %w: %w", quote(ev.ID), kind, ErrStore, err)
	}
	return nil
}

// announcement builds the SyncCompleted or SyncFailed event of rep. Its ID is
// derived from the source event's, so consumers can deduplicate it too.
func announcement(source, kind string, rep Report) (Event, error) {
	a := Announcement{EventID: rep.Event.ID, EventType: rep.Event.Type, Results: make([]AnnouncedResult, len(rep.Results))}
	for i, r := range rep.Results {
		a.Results[i] = AnnouncedResult{
			Connector:  r.Connector,
			Key:        r.Key,
			Status:     r.Status,
			Attempts:   r.Attempts,
			DurationMs: r.Duration.Milliseconds(),
		}
		if r.Err != nil {
			a.Results[i].Error = bound(r.Err.Error())
		}
	}
	data, err := json.Marshal(a)
	if err != nil {
		return Event{}, fmt.Errorf("encode announcement: %w", err)
	}
	return Event{
		ID:      kind + ":" + rep.Event.ID,
		Type:    kind,
		Source:  source,
		Subject: rep.Event.ID,
		Time:    time.Now().UTC(),
		Data:    data,
		Meta:    maps.Clone(rep.Event.Meta),
	}, nil
}
