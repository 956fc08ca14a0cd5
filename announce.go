package synclayer

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"time"

	"github.com/hmsplatform/synclayer/idempotency"
	"github.com/hmsplatform/synclayer/internal/clip"
)

// announceConnector is the reserved store namespace of announcements: their
// done-markers make them at-least-once with deduplication, like pushes.
const announceConnector = "$announce"

// announce publishes SyncCompleted or SyncFailed for rep, once per event and
// outcome. It stays silent when some route did not finish (a store failure,
// a cancelled context): the event will be redelivered and announced then.
//
// Under Run, with a store across the network, two round trips leave the
// event's critical path: the SyncCompleted claim was taken early, beside
// the routes' own claims (ahead), and the announcement's done-marker is
// written after the handler returns, so the bus's acknowledgement does not
// wait for it. If that write is lost, a later redelivery announces again,
// which at-least-once allows.
func (d *Dispatcher) announce(ctx context.Context, rep Report, fromBus bool, ahead *earlyClaim) error {
	kind, ok := announceKind(rep)
	if !ok {
		ahead.drop(d, ctx)
		return nil
	}
	if kind != SyncCompleted && ahead != nil {
		// The early claim holds the announcement's key: free it before
		// claiming the SyncFailed announcement.
		ahead.release(d, ctx)
		ahead = nil
	}
	ev := rep.Event
	c := announceClaim(d, kind, ev.ID)
	// In process, duplicates of one event wait for each other here, so only
	// another process's lease (live, or left by a crash) reads as busy. A
	// duplicate from the bus does not wait behind one that waits for such
	// a lease: it is handed back to the bus (see keyLocks).
	if err := d.announceLocks.lockFor(ctx, ev.ID, fromBus); err != nil {
		ahead.drop(d, ctx)
		return fmt.Errorf("synclayer: event %s: announce %s: %w", quote(ev.ID), kind, err)
	}
	defer d.announceLocks.unlock(ev.ID)
	var cr idempotency.ClaimResult
	var err error
	if ahead != nil {
		cr, err = ahead.result(d, ctx)
		if err != nil {
			err = fmt.Errorf("%w: %w", ErrStore, err)
		}
	}
	if ahead == nil || err == nil && cr.Status == idempotency.ClaimBusy {
		// Another process is announcing it now, or died doing so. Off the
		// bus, wait for its lease; from the bus, wait briefly, then ask for
		// a redelivery so the announcement is made once that lease ends.
		cr, _, err = d.claim(ctx, c, fromBus, &d.announceLocks)
	}
	if err != nil {
		return fmt.Errorf("synclayer: event %s: announce %s: %w", quote(ev.ID), kind, err)
	}
	if cr.Status == idempotency.ClaimDone {
		return nil // announced before
	}
	out, err := announcement(d.source, kind, rep)
	if err == nil {
		err = d.pub.Publish(ctx, out)
	}
	if err != nil {
		_ = settle(ctx, d.store.Release, c, cr.Token) // the lease expires anyway
		return fmt.Errorf("synclayer: event %s: %w: %s: %w", quote(ev.ID), ErrPublish, kind, err)
	}
	if fromBus && d.remoteStore {
		d.finishLater(ctx, func(ctx context.Context) { _ = settle(ctx, d.store.Complete, c, cr.Token) })
		return nil
	}
	if err := settle(ctx, d.store.Complete, c, cr.Token); err != nil {
		return fmt.Errorf("synclayer: event %s: announce %s: published, but %w: %w", quote(ev.ID), kind, ErrStore, err)
	}
	return nil
}

// announceKind says which announcement rep calls for, if any yet.
func announceKind(rep Report) (kind string, ok bool) {
	kind = SyncCompleted
	for _, r := range rep.Results {
		if r.Status == StatusPending {
			return "", false // announced when the pending route is pushed
		}
		if r.Status == StatusFailed {
			if !IsPermanent(r.Err) {
				return "", false
			}
			kind = SyncFailed
		}
	}
	return kind, true
}

// announceClaim is the store claim of one announcement.
func announceClaim(d *Dispatcher, kind, eventID string) idempotency.Claim {
	return idempotency.Claim{
		Connector: announceConnector,
		Key:       eventID,
		EventID:   kind + "/" + eventID,
		LeaseTTL:  d.leaseTTL, // a redelivery after it ends announces again
		Retention: d.retention,
	}
}

// earlyClaim is the SyncCompleted claim of an event, taken while its routes
// run: with a group-committing store it rides in the same round trip as
// the routes' claims, instead of costing one more after them.
type earlyClaim struct {
	c     idempotency.Claim
	at    time.Time
	done  chan struct{}
	cr    idempotency.ClaimResult
	err   error
	taken bool // result, drop or release was called
}

// claimEarly starts the SyncCompleted claim of ev, when it pays: under Run,
// with a publisher and a store across the network, and no route held (a
// held route is not announced now). It returns nil otherwise.
func (d *Dispatcher) claimEarly(ctx context.Context, ev *Event, routes []route, fromBus bool) *earlyClaim {
	if !fromBus || d.pub == nil || !d.remoteStore {
		return nil
	}
	now := time.Now()
	for i := range routes {
		if d.control(routes[i].conn).held(now) {
			return nil
		}
	}
	e := &earlyClaim{c: announceClaim(d, SyncCompleted, ev.ID), at: time.Now(), done: make(chan struct{})}
	go func() {
		defer close(e.done)
		e.cr, e.err = d.store.Claim(ctx, e.c)
	}()
	return e
}

// result waits for the early claim. A lease taken so long ago that it may
// lapse before the announcement is published is given back, and the claim
// made again.
func (e *earlyClaim) result(d *Dispatcher, ctx context.Context) (idempotency.ClaimResult, error) {
	<-e.done
	e.taken = true
	if e.err == nil && e.cr.Status == idempotency.ClaimAcquired && time.Since(e.at) > e.c.LeaseTTL/2 {
		_ = settle(ctx, d.store.Release, e.c, e.cr.Token)
		return d.store.Claim(ctx, e.c)
	}
	return e.cr, e.err
}

// drop gives back the early claim's lease, if it took one, after the
// handler returns: the event is not announced now.
func (e *earlyClaim) drop(d *Dispatcher, ctx context.Context) {
	if e == nil || e.taken {
		return
	}
	e.taken = true
	d.finishLater(ctx, func(ctx context.Context) { e.giveBack(d, ctx) })
}

// release gives back the early claim's lease now.
func (e *earlyClaim) release(d *Dispatcher, ctx context.Context) {
	e.taken = true
	e.giveBack(d, ctx)
}

func (e *earlyClaim) giveBack(d *Dispatcher, ctx context.Context) {
	<-e.done
	if e.err == nil && e.cr.Status == idempotency.ClaimAcquired {
		_ = settle(ctx, d.store.Release, e.c, e.cr.Token)
	}
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
			a.Results[i].Error = clip.String(publicText(r.Err), maxMessage) // see storeErr
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
