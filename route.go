package synclayer

import (
	"context"
	"errors"
	"fmt"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/cenkalti/backoff/v4"
	"github.com/hmsplatform/synclayer/idempotency"
	"github.com/hmsplatform/synclayer/internal/clip"
	"github.com/hmsplatform/synclayer/internal/ctxsleep"
)

// This file is the path of one route, one event pushed to one connector,
// top to bottom in the order the stages run:
//
//  1. map: the connector's Mapper turns the event into a Record (mapRecord);
//  2. validate: the record key is checked (validateKey);
//  3. hold: a paused connector or an open breaker queues the route as
//     pending in the delivery log (hold);
//  4. lock: one push per key at a time in this process (keylock.go);
//  5. claim: the store's lease on the key, or Duplicate or Stale (claim);
//  6. push: the connector's Sync under the retry policy, with the lease
//     kept alive (pushClaimed, push; retry.go has the policy);
//  7. settle: Complete on success, Release on failure (settle);
//  8. record: the outcome goes to the delivery log and the watchers
//     (record);
//  9. observe: the counters and the Observer see the result (observe).
//
// Dispatch (dispatcher.go) runs one route per connector routed for the
// event, concurrently.

// runRoute runs one route through every stage, fills res, and never
// panics.
func (d *Dispatcher) runRoute(ctx context.Context, ev *Event, rt *route, res *Result, fromBus bool) {
	d.runRouteOf(ctx, ev, rt, res, fromBus, nil)
}

// runRouteOf is runRoute; redo is the logged entry the route pushes again
// (a drain's or a replay's), nil for a live route (see mustHold).
func (d *Dispatcher) runRouteOf(ctx context.Context, ev *Event, rt *route, res *Result, fromBus bool, redo *Delivery) {
	start := time.Now()
	res.Connector = rt.conn.name
	ctl := d.control(rt.conn)
	op, err := d.routeSteps(ctx, ev, rt, ctl, res, start, fromBus, redo)
	if err != nil {
		failRoute(ev, res, op, err)
	}
	res.Duration = time.Since(start)
	if op == "map" {
		// No push was attempted; record the dead letter with its event.
		d.record(ctx, Delivery{EventID: ev.ID, EventType: ev.Type, Connector: res.Connector, State: StatusDead,
			Error: clip.String(res.Err.Error(), maxMessage), Event: cloneEvent(ev)})
	}
	d.observe(ctx, ctl, ev, res)
}

func failRoute(ev *Event, res *Result, op string, err error) {
	res.Status = StatusFailed
	res.Err = &SyncError{EventID: ev.ID, EventType: ev.Type, Connector: res.Connector, Key: res.Key, Op: op, Err: err}
}

// routeSteps runs the stages from map to record. It returns the stage
// that failed and why. start is when the route began.
func (d *Dispatcher) routeSteps(ctx context.Context, ev *Event, rt *route, ctl *connControl, res *Result, start time.Time, fromBus bool, redo *Delivery) (op string, err error) {
	rec, err := mapRecord(ctx, rt.mapper, ev)
	if err != nil {
		return "map", err // res.Key stays empty: reports never echo a bad key
	}
	res.Key = rec.Key

	ce := rt.conn
	drains := ctl.drains.Load()
	if hold, behind, err := d.mustHold(ctx, ce, ctl, rec.Key, start, redo != nil); err != nil {
		return "hold", err
	} else if hold {
		return d.hold(ctx, ev, &rec, ce, ctl, res, drains, behind, time.Time{})
	}

	if err := ce.locks.lockFor(ctx, rec.Key, fromBus); err != nil {
		return "wait for key", err
	}
	defer ce.locks.unlock(rec.Key)

	claim := d.claimOf(ce, rec.Key, ev.ID, rec.Version)
	cr, sent, err := d.claim(ctx, claim, fromBus, &ce.locks)
	if err != nil {
		return "claim", err
	}
	switch cr.Status {
	case idempotency.ClaimDone:
		res.Status = StatusDuplicate
		d.record(ctx, Delivery{EventID: ev.ID, EventType: ev.Type, Connector: ce.name, Key: rec.Key, State: StatusDuplicate, Updated: start})
		return "", nil
	case idempotency.ClaimStale:
		res.Status = StatusStale
		d.record(ctx, Delivery{EventID: ev.ID, EventType: ev.Type, Connector: ce.name, Key: rec.Key, State: StatusStale, Updated: start})
		return "", nil
	}
	// Should the push find the connector held, the entry is held in its
	// place among its key's entries (see hold). A drain's pending entry
	// keeps the date it was listed with. A live route's place is when
	// mustHold let it through: a route of its key held after that is dated
	// later, and one held before would have made it queue behind; the time
	// its push began would be too late, after a wait for the key's lock
	// during which newer events may have been held.
	place := start
	if redo != nil && redo.State == StatusPending {
		place = redo.Updated
	}
	return d.pushClaimed(ctx, ev, &rec, ce, ctl, res, lease{claim, cr.Token, sent}, nil, false, place)
}

// 1. map and 2. validate.

// mapRecord maps the event and checks the key. Every failure is
// permanent: a mapping does not heal by itself.
func mapRecord(ctx context.Context, m Mapper, ev *Event) (Record, error) {
	rec, err := safeMap(ctx, m, ev)
	if err != nil {
		return rec, err
	}
	if err := validateKey(rec.Key); err != nil {
		return Record{}, badKey(err, rec.Key)
	}
	rec.Event = *ev
	return rec, nil
}

func safeMap(ctx context.Context, m Mapper, ev *Event) (rec Record, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = Permanent(fmt.Errorf("%w: %w", ErrMapping, newPanicError("mapper", p)))
		}
	}()
	rec, err = m.Map(ctx, *ev)
	if err != nil {
		err = mappingErr(err)
	}
	return rec, err
}

func mappingErr(err error) error {
	if errors.Is(err, ErrMapping) {
		return Permanent(err)
	}
	return Permanent(fmt.Errorf("%w: %w", ErrMapping, err))
}

// validateKey checks a mapped key. It refuses what no partner can hold
// safely; characters that are merely special in one protocol ('/', '..',
// quotes) are the connector's to escape.
func validateKey(key string) error {
	switch {
	case key == "":
		return fmt.Errorf("%w: empty", errInvalidKey)
	case len(key) > maxKeyBytes:
		return fmt.Errorf("%w: %d bytes, over the limit of %d", errInvalidKey, len(key), maxKeyBytes)
	case !utf8.ValidString(key):
		return fmt.Errorf("%w: not valid UTF-8", errInvalidKey)
	}
	for i, r := range key {
		if r < 0x80 {
			if r < 0x20 || r == 0x7f {
				return fmt.Errorf("%w: control character %U at byte %d", errInvalidKey, r, i)
			}
			continue
		}
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || isNoncharacter(r) {
			return fmt.Errorf("%w: invisible or control character %U at byte %d", errInvalidKey, r, i)
		}
	}
	return nil
}

func isNoncharacter(r rune) bool {
	return (r >= 0xFDD0 && r <= 0xFDEF) || r&0xFFFE == 0xFFFE
}

func badKey(err error, key string) error {
	return Permanent(fmt.Errorf("%w (key %s)", err, quote(key)))
}

// 3. hold.

// hold queues the route as pending in the delivery log: its connector is
// held, or its key has pending entries that it must not overtake (see
// mustHold, whose count of the hold it ends). With no log, or when the log
// cannot take it (a [MemoryLog] full of pending entries, a failing log),
// the route fails with a redelivery request, so the bus keeps the event
// and brings it back once the connector may take it.
//
// The entry is dated place, its place among its key's pending entries,
// which a drain pushes in the order of their dates. A zero place is found
// by placeOf: an entry the route already has pending (the bus brought its
// event again) keeps its date, and a new entry is dated now. An entry held
// again thus stays before the entries of its key held after it, rather
// than be pushed after them and leave the partner with its older data.
//
// drains is the count of the connector's drains read before the route
// found the connector held. A drain that took its turn since may have
// listed the pending entries before this one was written, and then
// nothing would push it: the connector was let go in between (Resume, a
// breaker that closed or may probe again), so hold drains again. A route
// queued behind its key's pending entries (behind) while the connector is
// not held drains too: a drain at work may have listed before its entry
// was written, and nothing else would start one; unless a drain again of
// entries a drain left pending is already scheduled in this Run and not
// yet due (see retryScheduled): that one will list it, or be dropped with
// the rest of the Run's work should the Run end first. Such drains merge
// (see drainLater).
func (d *Dispatcher) hold(ctx context.Context, ev *Event, rec *Record, ce *connEntry, ctl *connControl, res *Result, drains uint64, behind bool, place time.Time) (string, error) {
	defer ctl.endHold(rec.Key)
	if d.log == nil {
		d.want(ctx, res.Connector, rec)
		return "hold", Redeliver(errHeld, ctl.holdDelay(time.Now()))
	}
	if place.IsZero() {
		place = d.placeOf(ctx, ctl, ev.ID, res.Connector)
	}
	dl := Delivery{EventID: ev.ID, EventType: ev.Type, Connector: res.Connector, Key: rec.Key,
		State: StatusPending, Attempts: res.Attempts, Event: cloneEvent(ev), Updated: place}
	if err := d.log.Put(ctx, dl); err != nil {
		return "hold", Redeliver(fmt.Errorf("%w: the delivery log cannot keep the route: %w", errHeld, err), ctl.holdDelay(time.Now()))
	}
	now := time.Now()
	letGo := ctl.drains.Load() != drains
	behindUnlisted := behind && !ctl.held(now) && !ctl.retryScheduled(d.runOf(ctx), now)
	if letGo || behindUnlisted {
		d.drainLater(ctx, ce, 0)
	}
	d.want(ctx, res.Connector, rec)
	d.notify(dl)
	res.Status = StatusPending
	return "", nil
}

// placeOf is the place among its key's pending entries of the route of
// eventID to connector (see hold): the date of its entry in the log when
// that is pending, else now (no entry, another state, or a log that did
// not answer). A drain's route, whose entry is in progress while it
// pushes, keeps the date its entry was listed with (see routeSteps); so
// does a route of the same event that the bus brought again meanwhile
// (see drainPlace), which would otherwise be dated now and, should the
// drain's push fail and its entry go back to pending, write it pending
// after a newer entry of its key, whichever of the two writes came last.
// Asking for pending entries only keeps the look cheap: the MemoryLog
// finds them in its map of held entries, without a walk of its ring.
func (d *Dispatcher) placeOf(ctx context.Context, ctl *connControl, eventID, connector string) time.Time {
	if place, ok := ctl.drainPlace(eventID); ok {
		return place
	}
	got, err := d.log.List(ctx, DeliveryFilter{EventID: eventID, Connector: connector, States: []Status{StatusPending}, Limit: 1})
	if err == nil && len(got) == 1 && !got[0].Updated.IsZero() {
		return got[0].Updated
	}
	return time.Now()
}

// 4. lock: keyLocks in keylock.go. 5. claim.

// How long a route that finds its key leased by another process waits in
// a handler of Run before it hands the event back to the bus, and the
// bounds of the redelivery delay it asks for. The delay is short even when
// the lease has long to run: a live holder renews its lease, so its expiry
// says little about when it will be done.
const (
	busyWait        = 250 * time.Millisecond
	minBusyRedelay  = 100 * time.Millisecond
	maxBusyRedelay  = time.Second
	busyPollInitial = 10 * time.Millisecond
)

// claim asks the store, waiting while another process holds the key. From
// the bus it waits at most busyWait, then asks for a redelivery.
// sent is when the answered claim was sent, read only when the store
// renews leases (see keepLease).
//
// line is the key locks in which the caller holds c.Key (nil for none).
// While it waits for another process's lease, line turns away the bus
// deliveries of the key waiting behind it (see keyLocks), so a local route
// that may wait out the whole lease (Dispatch, Resync, Reapply, a drain)
// keeps none of Run's handler slots waiting with it. The mark ends once
// the claim is answered, or with the route's unlock.
func (d *Dispatcher) claim(ctx context.Context, c idempotency.Claim, fromBus bool, line *keyLocks) (cr idempotency.ClaimResult, sent time.Time, err error) {
	wait := busyPollInitial
	var since time.Time
	for {
		if d.renewer != nil {
			sent = time.Now()
		}
		cr, err := d.store.Claim(ctx, c)
		if err != nil {
			if ctx.Err() != nil {
				return cr, sent, ctx.Err()
			}
			return cr, sent, fmt.Errorf("%w: %w", ErrStore, err)
		}
		if cr.Status != idempotency.ClaimBusy {
			if !since.IsZero() && line != nil {
				line.notBusy(c.Key) // whatever comes next is this process's work
			}
			if cr.Status == idempotency.ClaimAcquired || cr.Status == idempotency.ClaimDone || cr.Status == idempotency.ClaimStale {
				return cr, sent, nil
			}
			return cr, sent, fmt.Errorf("%w: unknown claim status %v", ErrStore, cr.Status)
		}
		now := time.Now()
		if since.IsZero() {
			since = now
		}
		if line != nil {
			line.busyElsewhere(c.Key, cr.Expires)
		}
		until := cr.Expires.Sub(now)
		if fromBus && now.Sub(since) >= busyWait {
			return cr, sent, busyErr(cr.Expires, until)
		}
		w := jitter(wait, 0.2)
		if until > 0 && until < w {
			w = until
		}
		if err := ctxsleep.Sleep(ctx, w); err != nil {
			return cr, sent, err
		}
		wait = min(wait*2, time.Second)
	}
}

// claimOf is the claim for a push of key to ce under eventID.
func (d *Dispatcher) claimOf(ce *connEntry, key, eventID string, version int64) idempotency.Claim {
	return idempotency.Claim{Connector: ce.name, Key: key, EventID: eventID, Version: version,
		LeaseTTL: d.leaseTTLFor(ce), Retention: d.retention}
}

// busyErr hands a route whose key another process holds back to the bus,
// to come again soon (see busyWait).
func busyErr(expires time.Time, until time.Duration) error {
	return Redeliver(fmt.Errorf("%w: its lease runs until %s", errKeyBusy, expires.UTC().Format(time.RFC3339Nano)),
		jitter(min(max(until, minBusyRedelay), maxBusyRedelay), 0.2))
}

// 6. push, 7. settle and 8. record, for a claimed key.

// pushClaimed pushes a record whose key the route has claimed (l), with
// the lease kept alive while it runs, then settles the claim and records
// the outcome. A route whose breaker opened during its retries is held,
// dated place (its place among its key's entries: see hold), unless
// reapply is set: [Dispatcher.Reapply] queues nothing, and gets the
// route's error (it wraps errHeld) back. once, when set, is called once in
// place of the connector's retried Sync (see Dispatcher.Reapply).
func (d *Dispatcher) pushClaimed(ctx context.Context, ev *Event, rec *Record, ce *connEntry, ctl *connControl, res *Result, l lease, once func(context.Context) error, reapply bool, place time.Time) (op string, err error) {
	claim, token := l.claim, l.token
	drains := ctl.drains.Load() // before push finds the connector held, if it does
	// The lease is kept from here until the claim is settled: a slow log
	// write must not eat into it, nor a slow Complete let it end before
	// the done-marker exists (another process would push again).
	pctx, hb := ctx, (*heartbeat)(nil)
	if d.renewer != nil {
		hb = d.keepLease(ctx, l)
		pctx = hb.ctx
		defer hb.stop()
	}
	pushed := false
	defer func() {
		if !pushed {
			// A panic on the way (an Observer's: the connector's are
			// recovered): give the key back, or it would stay leased
			// for as long as the process lives.
			ctl.inFlight.Add(-1)
			_ = settle(ctx, d.store.Release, claim, token)
		}
	}()
	first := time.Now()
	ctl.inFlight.Add(1)
	d.record(ctx, Delivery{EventID: ev.ID, EventType: ev.Type, Connector: ce.name, Key: rec.Key, State: StatusInProgress, FirstAttempt: first, Updated: first})
	var out pushOutcome
	if once != nil {
		out = pushOnce(pctx, ce, first, once)
	} else {
		out = d.push(pctx, ce, ctl, rec, first)
	}
	pushed = true
	if hb != nil && hb.lostYet() && out.err != nil {
		out.err = leaseLost(out.err)
	}
	ctl.inFlight.Add(-1)
	res.Attempts = out.attempts
	end := time.Now()
	dl := Delivery{EventID: ev.ID, EventType: ev.Type, Connector: ce.name, Key: rec.Key, Attempts: out.attempts,
		FirstAttempt: first, LastAttempt: out.last, Duration: end.Sub(first), PartnerID: out.partnerID, Updated: end}
	if d.log != nil || d.ledger != nil {
		dl.PayloadHash = payloadHash(rec.Payload)
	}
	if err := out.err; err != nil {
		if rerr := settle(ctx, d.store.Release, claim, token); rerr != nil {
			err = joinStoreErr(err, "release lease", rerr)
		}
		logged := publicText(err) // the delivery's error: the store's own text left out
		if errors.Is(err, errHeld) {
			if d.log != nil && !reapply {
				ctl.startHold(rec.Key)
				return d.hold(ctx, ev, rec, ce, ctl, res, drains, false, place)
			}
			// No log to queue it in: back to the bus, uncounted, until
			// the breaker may let it through.
			err = Redeliver(err, ctl.holdDelay(end))
		}
		dl.State, dl.Error, dl.Event = StatusFailed, clip.String(logged, maxMessage), cloneEvent(ev)
		if IsPermanent(err) {
			dl.State = StatusDead
		}
		// The outcome replaces the in-progress entry even when the push
		// failed because ctx ended, or that entry would stay for good.
		wctx, cancel := afterPush(ctx)
		d.record(wctx, dl)
		d.want(wctx, ce.name, rec)
		cancel()
		return "sync", err
	}
	dl.State = StatusSynced
	claim.Hash = dl.PayloadHash
	if err := d.complete(ctx, claim, token, dl); err != nil {
		const what = "pushed, but could not record it"
		err = joinStoreErr(nil, what, err)
		dl.State, dl.Error, dl.Event = StatusFailed, publicText(err), cloneEvent(ev)
		wctx, cancel := afterPush(ctx)
		d.record(wctx, dl)
		cancel()
		return "complete", err
	}
	if d.ledger != nil && !d.storeLedger {
		// The ledger is for operators and the reconciler: a failing one
		// must not fail a push that happened.
		_ = d.ledger.Pushed(ctx, Holding{Connector: ce.name, Key: rec.Key, Version: rec.Version,
			EventID: ev.ID, Hash: dl.PayloadHash, PushedAt: end})
	}
	res.Status = StatusSynced
	return "", nil
}

// want tells the ledger that the partner lacks rec's version: its route
// failed or is held.
func (d *Dispatcher) want(ctx context.Context, connector string, rec *Record) {
	if d.ledger != nil && rec.Version != 0 {
		_ = d.ledger.Want(ctx, connector, rec.Key, rec.Version)
	}
}

// pushOutcome is what push reports about its attempts.
type pushOutcome struct {
	attempts  int
	last      time.Time // start of the last attempt
	partnerID string
	err       error
}

// push calls the connector under its retry policy. first is when the first
// attempt may start (the caller read the clock just before).
func (d *Dispatcher) push(ctx context.Context, ce *connEntry, ctl *connControl, rec *Record, first time.Time) (out pushOutcome) {
	var sched *backoff.ExponentialBackOff
	probe := false
	defer func() {
		if probe {
			// The probe never ran, or its outcome is unknown: give the slot
			// back so that the next attempt probes, and drain, since routes
			// refused while the probe had the slot were held with no
			// change of state to come that would drain them.
			ctl.br.cancelProbe()
			if d.log != nil {
				d.drainLater(ctx, ce, 0)
			}
		}
	}()
	aStart := first
	for attempt := 1; ; attempt++ {
		if attempt > 1 {
			aStart = time.Now()
		}
		if ctl.br != nil {
			var ok bool
			if ok, probe = ctl.br.allow(aStart); !ok {
				out.err = errHeld // the route queues as pending
				return out
			}
		}
		waited, err := ce.acquire(ctx)
		if err != nil {
			out.err = err
			return out
		}
		if waited {
			aStart = time.Now() // the attempt's timeout starts now
		}
		actx := &attemptCtx{parent: ctx, deadline: aStart.Add(ce.timeout)}
		var partnerID string
		partnerID, err = safeSync(actx, ce, rec)
		actx.release()
		<-ce.sem
		out.attempts, out.last = attempt, aStart
		ctl.attempts.Add(1)
		if attempt > 1 {
			ctl.retries.Add(1)
		}
		if partnerID != "" {
			out.partnerID = partnerID
		}
		var now time.Time
		if ctl.br != nil || err != nil || d.obs != nil {
			now = time.Now()
		}
		if ctl.br != nil {
			// Only the partner's answers count, not a cancelled dispatch.
			if err == nil || ctx.Err() == nil {
				from, to := ctl.br.record(now, err != nil, probe)
				probe = false
				if from != to {
					d.breakerChanged(ctx, ce, from, to)
				}
			}
		}

		var wait time.Duration
		var final error
		if err != nil {
			if sched == nil {
				sched = ce.policy.schedule()
			}
			wait, final = nextWait(ctx, &ce.policy, sched, attempt, first, now, err)
		}
		if d.obs != nil {
			d.observeAttempt(ctx, ce, rec, attempt, aStart, now.Sub(aStart), err, wait)
		}
		if err == nil {
			return out
		}
		if final != nil {
			out.err = final
			return out
		}
		if serr := ctxsleep.Sleep(ctx, wait); serr != nil {
			out.err = afterErr(serr, err)
			return out
		}
	}
}

// acquire waits for the connector's rate limiter and for one of its
// concurrency slots; the caller gives the slot back with <-ce.sem. waited
// says whether it had to wait, so the attempt's timeout starts after.
func (ce *connEntry) acquire(ctx context.Context) (waited bool, err error) {
	if ce.limiter != nil {
		if err := ce.limiter.Wait(ctx); err != nil {
			return true, fmt.Errorf("rate limit: %w", err)
		}
		waited = true
	}
	select {
	case ce.sem <- struct{}{}:
		return waited, nil
	default:
	}
	select {
	case ce.sem <- struct{}{}:
		return true, nil
	case <-ctx.Done():
		return true, ctx.Err()
	}
}

// pushOnce calls push in place of the connector's Sync, once, with one of
// the connector's concurrency slots.
func pushOnce(ctx context.Context, ce *connEntry, first time.Time, push func(context.Context) error) pushOutcome {
	if _, err := ce.acquire(ctx); err != nil {
		return pushOutcome{last: first, err: err}
	}
	err := safePush(ctx, push)
	<-ce.sem
	return pushOutcome{attempts: 1, last: first, err: err}
}

// safePush calls push and turns a panic into a permanent error.
func safePush(ctx context.Context, push func(context.Context) error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = Permanent(newPanicError("push", p))
		}
	}()
	return push(ctx)
}

// safeSync calls the connector (SyncID when it is a [PartnerIDSyncer]) and
// turns a panic into a permanent error.
func safeSync(ctx context.Context, ce *connEntry, rec *Record) (partnerID string, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = Permanent(newPanicError("connector", p))
		}
	}()
	if ce.idSyncer != nil {
		return ce.idSyncer.SyncID(ctx, *rec)
	}
	return "", ce.conn.Sync(ctx, *rec)
}

func (d *Dispatcher) observeAttempt(ctx context.Context, ce *connEntry, rec *Record, attempt int, start time.Time, took time.Duration, err error, wait time.Duration) {
	d.obs.ObserveAttempt(ctx, Attempt{Event: rec.Event, Connector: ce.name, Key: rec.Key, Attempt: attempt, Start: start, Duration: took, Err: err, Wait: wait})
}

// 7. settle.

// complete marks the route done in the store and records dl, in one round
// trip when the store can write the log too ([LogCompleter]).
func (d *Dispatcher) complete(ctx context.Context, c idempotency.Claim, token string, dl Delivery) error {
	if d.logCompleter != nil && d.log != nil {
		var done bool
		err := settle(ctx, func(ctx context.Context, c idempotency.Claim, token string) error {
			var err error
			done, err = d.logCompleter.CompleteLogged(ctx, c, token, d.log, dl)
			return err
		}, c, token)
		if err != nil {
			return err
		}
		if done {
			d.notify(dl)
			return nil
		}
	}
	if err := settle(ctx, d.store.Complete, c, token); err != nil {
		return err
	}
	// The push happened and the store knows: the log must say so too,
	// or the entry would stay in progress for good.
	rctx, cancel := afterPush(ctx)
	d.record(rctx, dl)
	cancel()
	return nil
}

// settleTimeout bounds what a route still writes, once its push happened,
// after its ctx ended.
const settleTimeout = 10 * time.Second

// settle calls Complete or Release. The outcome must be recorded even when
// ctx ended during the push (the push happened), so a failure under a done
// ctx is retried once under a detached context with its own time limit.
func settle(ctx context.Context, op func(context.Context, idempotency.Claim, string) error, c idempotency.Claim, token string) error {
	if ctx.Err() == nil {
		err := op(ctx, c, token)
		if err == nil || ctx.Err() == nil {
			return err
		}
	}
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), settleTimeout)
	defer cancel()
	return op(dctx, c, token)
}

// afterPush is the context for what must follow a push that happened
// (its delivery log entry, its announcement) even though ctx ended: ctx
// while it lasts, else one detached from it, ending after settleTimeout.
func afterPush(ctx context.Context) (context.Context, context.CancelFunc) {
	if ctx.Err() == nil {
		return ctx, func() {}
	}
	return context.WithTimeout(context.WithoutCancel(ctx), settleTimeout)
}

// 8. record.

// record puts dl in the log and tells the watchers. dl.Updated is set to
// now unless the caller set it (saving a clock read on the hot path).
func (d *Dispatcher) record(ctx context.Context, dl Delivery) {
	if d.log == nil && len(*d.watchers.Load()) == 0 {
		return
	}
	if dl.Updated.IsZero() {
		dl.Updated = time.Now()
	}
	if d.log != nil {
		_ = d.log.Put(ctx, dl) // the log is for operators; a failing log must not fail pushes
	}
	d.notify(dl)
}

// notify tells the watchers of dl, already in the log.
func (d *Dispatcher) notify(dl Delivery) {
	for _, fn := range *d.watchers.Load() {
		fn(dl)
	}
}

// 9. observe.

// observe adds the result to the connector's counters and hands it to the
// observer.
func (d *Dispatcher) observe(ctx context.Context, ctl *connControl, ev *Event, res *Result) {
	switch res.Status {
	case StatusSynced:
		ctl.synced.Add(1)
	case StatusDuplicate:
		ctl.duplicate.Add(1)
	case StatusStale:
		ctl.stale.Add(1)
	case StatusPending:
		ctl.pending.Add(1)
	case StatusFailed:
		if IsPermanent(res.Err) {
			ctl.dead.Add(1)
		} else {
			ctl.failed.Add(1)
		}
	}
	if d.obs != nil {
		d.obs.ObserveResult(ctx, *ev, *res)
	}
}

func cloneEvent(ev *Event) *Event {
	c := *ev
	return &c
}
