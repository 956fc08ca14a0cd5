package synclayer

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// Map maps ev for connector with the route registered for ev.Type, and
// checks the record's key as a dispatch would. It reports false when the
// connector has no route for ev.Type, and wraps [ErrUnknownConnector] when
// there is no such connector.
func (d *Dispatcher) Map(ctx context.Context, connector string, ev Event) (Record, bool, error) {
	if _, err := d.entry(connector); err != nil {
		return Record{}, false, err
	}
	rt, ok := d.reg.route(ev.Type, connector)
	if !ok {
		return Record{}, false, nil
	}
	rec, err := mapRecord(ctx, rt.mapper, &ev)
	if err != nil {
		return Record{}, true, fmt.Errorf("synclayer: event %s (%s) for connector %s: %w", quote(ev.ID), quote(ev.Type), quote(connector), err)
	}
	return rec, true, nil
}

// Connector returns the connector registered under name, so that a caller
// can look for its optional interfaces (a drift.Verifier). It wraps
// [ErrUnknownConnector] when there is none.
func (d *Dispatcher) Connector(name string) (Connector, error) {
	ce, err := d.entry(name)
	if err != nil {
		return nil, err
	}
	return ce.conn, nil
}

// Reapply writes rec to connector's partner again through the claim path,
// even when the store says the partner already holds rec.Version: a forced
// resync and a drift repair write this way. It takes the key's lock and
// lease (waiting while another process holds the key; meanwhile Run hands
// the bus's deliveries of the key back to the bus rather than keep them
// waiting behind it, as for Dispatch) and reports Stale,
// without a push, when a version newer than rec.Version has been applied
// meanwhile, so a live update always wins. Otherwise it pushes, then
// completes the claim, records the delivery and the ledger entry, and
// observes the result, as a dispatch does.
//
// While the connector is held (paused, or its circuit breaker open), or
// the key still has pending entries that a drain will push (a write now
// would be overwritten by older data), Reapply writes nothing: it reports
// StatusPending with no error, and, unlike a dispatched route, queues
// nothing in the delivery log, so the caller counts the record as not
// done and reapplies it once the connector is let go. The same holds when
// the breaker opens during its retries; the delivery log then shows the
// route failed, with the breaker's error. A push function's outcome does
// not count toward the breaker.
//
// The stale check reads the version the store reports on an acquired claim
// (idempotency.ClaimResult.Version, which the Store contract fills only
// "when known"): a store must fill it on ClaimAcquired whenever it holds a
// version for the key, or a newer live update may be overwritten. Every
// store of this module does.
//
// With a nil push the record goes through the connector's Sync under its
// retry policy. Otherwise push is called once, in place of Sync, with one
// of the connector's concurrency slots and under the key's lease (kept
// alive while it runs); an error from it is the route's error, and it is
// not retried.
//
// rec.Event is set to ev. The error equals the result's Err.
func (d *Dispatcher) Reapply(ctx context.Context, connector string, ev Event, rec Record, push func(ctx context.Context) error) (Result, error) {
	res := Result{Connector: connector, Key: rec.Key}
	ce, err := d.entry(connector)
	if err != nil {
		return res, err
	}
	start := time.Now()
	ctl := d.control(ce)
	rec.Event = ev
	op, err := d.reapply(ctx, &ev, &rec, ce, ctl, &res, push)
	if err != nil {
		failRoute(&ev, &res, op, err)
	}
	res.Duration = time.Since(start)
	d.observe(ctx, ctl, &ev, &res)
	return res, res.Err
}

// reapply is Reapply's route: validate, lock, claim without the version
// check, check the version under the lease, push, settle.
func (d *Dispatcher) reapply(ctx context.Context, ev *Event, rec *Record, ce *connEntry, ctl *connControl, res *Result, push func(context.Context) error) (op string, err error) {
	if err := validateKey(rec.Key); err != nil {
		return "validate", Permanent(badKey(err, rec.Key))
	}
	// Held, or the key has pending entries that a drain will push after
	// this write (see mustHold): nothing is written.
	if hold, _, err := d.mustHold(ctx, ce, ctl, rec.Key, time.Now(), false); err != nil {
		return "hold", err
	} else if hold {
		ctl.endHold(rec.Key) // nothing is queued
		res.Status = StatusPending
		return "", nil
	}
	if err := ce.locks.lock(ctx, rec.Key); err != nil {
		return "wait for key", err
	}
	defer ce.locks.unlock(rec.Key)
	// An unversioned claim under an event ID of its own passes the done
	// and stale checks; the lease still serialises it with every other
	// push of the key.
	claim := d.claimOf(ce, rec.Key, ev.ID+"\x00reapply\x00"+strconv.FormatInt(time.Now().UnixNano(), 36), 0)
	cr, sent, err := d.claim(ctx, claim, false, &ce.locks)
	if err != nil {
		return "claim", err
	}
	stale := rec.Version != 0 && cr.Version > rec.Version
	// Held again while the key was awaited: the lease does not let a
	// write through a pause or an open breaker either.
	if stale || ctl.held(time.Now()) {
		if err := settle(ctx, d.store.Release, claim, cr.Token); err != nil {
			return "release", joinStoreErr(nil, "release lease", err)
		}
		res.Status = StatusPending
		if stale {
			res.Status = StatusStale
		}
		return "", nil
	}
	// Settle as the event itself: its done-marker and the ledger's entry
	// name the event that brought the partner there, not the claim's
	// stand-in ID.
	claim.Version, claim.EventID = rec.Version, ev.ID
	op, err = d.pushClaimed(ctx, ev, rec, ce, ctl, res, lease{claim, cr.Token, sent}, push, true, time.Time{})
	if errors.Is(err, errHeld) {
		// The breaker opened during the retries: pending, queued nowhere.
		res.Status = StatusPending
		return "", nil
	}
	return op, err
}
