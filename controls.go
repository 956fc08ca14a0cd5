package synclayer

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hmsplatform/synclayer/internal/clip"
)

// connControl is a dispatcher's runtime state of one connector.
type connControl struct {
	paused atomic.Bool
	br     *breaker // nil without WithBreaker
	// drainTurn admits one drain of the connector at a time (see drain).
	drainTurn chan struct{}
	// waiting holds, under waitMu, the Done channel of each background
	// drain waiting for its turn (see takeTurn).
	waitMu  sync.Mutex
	waiting map[<-chan struct{}]bool
	// drains counts the drains that took their turn (see hold).
	drains atomic.Uint64
	// keys knows which keys have pending entries (see mustHold).
	keysMu sync.Mutex
	keys   keysHeld
	// The drain again of entries that a drain left pending (see
	// retryLater), under retryMu: the delay of the next one, the Run the
	// last one was scheduled in and when it is due.
	retryMu   sync.Mutex
	retryWait time.Duration
	retryRun  *runLife
	retryAt   time.Time

	synced, duplicate, stale, failed, dead, pending atomic.Int64
	attempts, retries, inFlight                     atomic.Int64
}

func (d *Dispatcher) control(ce *connEntry) *connControl {
	if c, ok := d.ctl.Load(ce); ok {
		return c.(*connControl)
	}
	c := &connControl{drainTurn: make(chan struct{}, 1)}
	// A durable log may hold entries held before a restart.
	c.keys.mayPending = d.durableLog
	if ce.breaker != nil {
		c.br = newBreaker(*ce.breaker)
	}
	actual, _ := d.ctl.LoadOrStore(ce, c)
	return actual.(*connControl)
}

func (d *Dispatcher) entry(name string) (*connEntry, error) {
	d.reg.mu.Lock()
	ce := d.reg.byName[name]
	d.reg.mu.Unlock()
	if ce == nil {
		return nil, fmt.Errorf("synclayer: connector %s: %w", quote(name), ErrUnknownConnector)
	}
	return ce, nil
}

// Redelivery delays of a held route that Run leaves on the bus (the
// delivery log is not durable, or full): a paused connector is asked about
// again after pausedRedelay; an open breaker's routes come back when it
// may probe, within these bounds.
const (
	pausedRedelay     = 5 * time.Second
	minBreakerRedelay = time.Second
	maxBreakerRedelay = 30 * time.Second
)

// holdDelay says when a held route of the connector is worth delivering
// again.
func (c *connControl) holdDelay(now time.Time) time.Duration {
	if c.paused.Load() || c.br == nil {
		return pausedRedelay
	}
	return min(max(c.br.reopenAt().Sub(now), minBreakerRedelay), maxBreakerRedelay)
}

// held reports whether new pushes to the connector must queue as pending:
// it is paused or its breaker is open. A half-open breaker lets routes try,
// and admits one of them as the probe.
func (c *connControl) held(now time.Time) bool {
	if c.paused.Load() {
		return true
	}
	return c.br != nil && c.br.current(now) == BreakerOpen
}

// Pause stops pushes to the named connector: its routes queue as pending
// (in the [DeliveryLog]) until [Dispatcher.Resume]. Pushes already under
// way finish. After Resume, new routes of a key that still has pending
// entries queue behind them until a drain has pushed them, so that the
// key's events reach the partner in arrival order. Pausing needs the delivery log: with WithDeliveryLog(synclayer.NoDeliveryLog) it
// returns an error.
func (d *Dispatcher) Pause(name string) error {
	ce, err := d.entry(name)
	if err != nil {
		return err
	}
	if d.log == nil {
		return fmt.Errorf("synclayer: pause %s: no delivery log to queue pending pushes in", quote(name))
	}
	d.control(ce).paused.Store(true)
	return nil
}

// Resume lets pushes to the named connector flow again and pushes what
// queued while it was paused, in key order (events of one key in arrival
// order). It returns, with the results of the pushes, when the queue is
// pushed; early when the connector is held again (paused, or its breaker
// opened) or a pass over the queue moved nothing on (the store or the log
// did not answer; the results say why), leaving the rest pending; or when
// ctx ends. Under [Dispatcher.Run], what it left pending while the
// connector is not held is drained again later by itself.
func (d *Dispatcher) Resume(ctx context.Context, name string) ([]Result, error) {
	ce, err := d.entry(name)
	if err != nil {
		return nil, err
	}
	d.control(ce).paused.Store(false)
	return d.drain(ctx, ce)
}

// drainLater drains the connector's pending deliveries in the background
// once delay has passed (see Dispatcher.background). Such drains merge:
// one that finds another still waiting for its turn leaves its work to
// that one (see takeTurn), so a burst of requests (routes queued behind
// their keys while a drain is at work) costs one drain more, not one each.
func (d *Dispatcher) drainLater(ctx context.Context, ce *connEntry, delay time.Duration) {
	d.background(ctx, delay, func(ctx context.Context) { _, _ = d.drainOf(ctx, ce, true) })
}

// drain pushes the connector's pending deliveries in key order, each key's
// oldest first. An entry older than one of its key that the drain already
// pushed (one key with more pending entries than a list holds) is
// superseded, not pushed (see supersede). Drains of one connector take
// turns: one that finds another at work waits for it,
// then lists what is still pending, rather than return at once, since the
// other may have listed the entries before the newest was held.
//
// A drain ends when a pass over the pending entries moved none of them on:
// all were held again, or failed for a reason that may pass (the store or
// the log did not answer, ctx ended: see redo). A drain of a Run also ends
// once that Run stops, after the push it has under way. An entry that no drain
// can push (no route, no event kept) is recorded dead (see bury). Each
// entry is tried at most once per drain, and the drain does not go round
// again at once; the next Resume, breaker change, Run start or hold that
// finds the connector let go drains again, and so, under a Run, does a
// drain that the drain leaving entries pending schedules (see
// retryLater).
func (d *Dispatcher) drain(ctx context.Context, ce *connEntry) ([]Result, error) {
	return d.drainOf(ctx, ce, false)
}

// drainOf is drain; merge, for a drain in the background, lets it leave
// its work to another waiting for its turn (see takeTurn).
func (d *Dispatcher) drainOf(ctx context.Context, ce *connEntry, merge bool) ([]Result, error) {
	if d.log == nil {
		return nil, nil
	}
	ctl := d.control(ce)
	if turn, err := ctl.takeTurn(ctx, merge); !turn {
		return nil, err
	}
	defer func() { <-ctl.drainTurn }()
	ctl.drains.Add(1)
	results, moved, none, err := d.drainPasses(ctx, ce, ctl)
	switch {
	case none:
		ctl.resetRetry(true)
	case ctl.held(time.Now()):
		// Resume or the breaker drains once the connector is let go.
	default:
		if moved {
			ctl.resetRetry(false)
		}
		d.retryLater(ctx, ce, ctl)
	}
	return results, err
}

// takeTurn waits for the connector's drain turn and reports whether it got
// it; err is ctx's error when ctx ended first. With merge it returns false
// at once when another merging drain with the same cancellation (the same
// Run, or none) waits for its turn: that one lists the pending entries
// once it has the turn, so after whatever this one was asked for was
// written, and it is cancelled only when this one would have been. A
// drain stops counting as waiting once it has the turn, before it lists.
func (c *connControl) takeTurn(ctx context.Context, merge bool) (bool, error) {
	if merge {
		done := ctx.Done()
		c.waitMu.Lock()
		if c.waiting[done] {
			c.waitMu.Unlock()
			return false, nil
		}
		if c.waiting == nil {
			c.waiting = make(map[<-chan struct{}]bool)
		}
		c.waiting[done] = true
		c.waitMu.Unlock()
		defer func() {
			c.waitMu.Lock()
			delete(c.waiting, done)
			c.waitMu.Unlock()
		}()
	}
	select {
	case c.drainTurn <- struct{}{}:
		return true, nil
	case <-ctx.Done():
		return false, ctx.Err()
	}
}

// drainPasses is the work of drain once it has its turn. moved reports
// whether it moved an entry out of the pending state, none whether it
// ended finding nothing pending.
func (d *Dispatcher) drainPasses(ctx context.Context, ce *connEntry, ctl *connControl) (results []Result, moved, none bool, err error) {
	var errs []error
	// Per key, when the newest entry this drain moved on was held. An
	// entry of a key with more pending entries than a list holds can come
	// in a pass after a newer one of its key was pushed; it is superseded.
	newest := map[string]time.Time{}
	// The entries whose push failed in this drain for a reason that may
	// pass: they stay pending for the next drain, are not tried again in
	// this one, and are superseded once a newer entry of their key is
	// pushed.
	tried := map[string]bool{}
	left := map[string][]Delivery{}
	for {
		f := DeliveryFilter{Connector: ce.name, States: []Status{StatusPending}, Limit: maxList}
		written := ctl.heldSoFar()
		pending, lerr := d.log.List(ctx, f)
		if lerr == nil && len(pending) == maxList {
			pending, lerr = d.wholeKeys(ctx, f, pending)
		}
		if lerr != nil {
			return results, moved, false, fmt.Errorf("synclayer: connector %s: list pending: %w", quote(ce.name), lerr)
		}
		if len(pending) == 0 {
			ctl.nonePending(written)
			return results, moved, true, nil
		}
		// Oldest first: the log lists the newest first, and its order
		// settles ties of Updated (a coarse clock, or a test's fake one).
		slices.Reverse(pending)
		sort.SliceStable(pending, func(i, j int) bool {
			if pending[i].Key != pending[j].Key {
				return pending[i].Key < pending[j].Key
			}
			return pending[i].Updated.Before(pending[j].Updated)
		})
		progress := false
		for _, p := range pending {
			if tried[p.EventID] {
				continue
			}
			if err := ctx.Err(); err != nil {
				return results, moved, false, errors.Join(append(errs, err)...)
			}
			if stopping(ctx) {
				return results, moved, false, errors.Join(errs...) // what is pending stays for the next Run
			}
			if ctl.held(time.Now()) {
				return results, moved, false, errors.Join(errs...) // paused again, or the breaker reopened
			}
			// One item's failure (its announcement could not be made, the log
			// kept no event: see bury) does not stop the others.
			var res Result
			var err error
			if last, ok := newest[p.Key]; ok && p.Updated.Before(last) {
				res, err = d.supersede(ctx, ctl, p)
			} else {
				res, err = d.drainPush(ctx, ctl, p)
			}
			if err != nil {
				errs = append(errs, err)
				if res.Connector == "" {
					// Nothing was pushed, and no drain ever could.
					res, err = d.bury(ctx, ctl, p, err)
					results = append(results, res)
					if err != nil {
						errs = append(errs, err)
					}
					progress, moved = true, true
					continue
				}
			}
			results = append(results, res)
			if res.Status == StatusFailed && !IsPermanent(res.Err) {
				tried[p.EventID] = true
				left[p.Key] = append(left[p.Key], p)
			}
			if err == nil && movedOn(res) {
				progress, moved = true, true
				if p.Updated.After(newest[p.Key]) {
					newest[p.Key] = p.Updated
				}
				if res.Status != StatusFailed {
					// The partner holds p's record, or newer.
					results, errs = d.supersedeLeft(ctx, ctl, left, p, results, errs)
				}
			}
		}
		if !progress {
			return results, moved, false, errors.Join(errs...)
		}
	}
}

// The delays of a drain again under a Run of entries that a drain left
// pending (see retryLater): the first, and the most that it grows to.
const (
	minDrainRetry = time.Second
	maxDrainRetry = 30 * time.Second
)

// retryLater drains the connector again later, for a drain that leaves
// entries pending for a reason that may pass (the store or the log did not
// answer, its ctx ended) while the connector is not held. Under a Run the
// events behind them were acknowledged on the bus, so nothing else would
// push them until the next Resume, breaker change, Run start or hold. The
// delay doubles from minDrainRetry to maxDrainRetry while the drains move
// nothing on, and starts again at minDrainRetry once one does (or finds
// nothing pending), so a store that stays away is not asked in a hot
// loop; one drain again is scheduled at a time. The drain belongs to the
// Run (see Dispatcher.background) and is dropped when it ends; with no Run
// (Dispatch and Resume alone) none is scheduled, and the caller's next
// Resume drains.
func (d *Dispatcher) retryLater(ctx context.Context, ce *connEntry, ctl *connControl) {
	run := d.runOf(ctx)
	if run == nil {
		return
	}
	now := time.Now()
	ctl.retryMu.Lock()
	if ctl.retryScheduledLocked(run, now) {
		ctl.retryMu.Unlock()
		return // one is scheduled in this Run already
	}
	wait := max(ctl.retryWait, minDrainRetry)
	ctl.retryWait = min(2*wait, maxDrainRetry)
	ctl.retryRun, ctl.retryAt = run, now.Add(wait)
	ctl.retryMu.Unlock()
	d.drainLater(ctx, ce, wait)
}

// resetRetry starts the delay of the next drain again at minDrainRetry:
// a drain moved an entry on, or found nothing pending (nothingLeft). In
// the latter case a drain again already scheduled has nothing to do that
// it was scheduled for, and routes queued behind their keys from now on
// ask for drains of their own (see retryScheduled).
func (c *connControl) resetRetry(nothingLeft bool) {
	c.retryMu.Lock()
	c.retryWait = 0
	if nothingLeft {
		c.retryRun = nil
	}
	c.retryMu.Unlock()
}

// retryScheduled reports whether a drain again of entries left pending
// (see retryLater) is scheduled in run and not yet due. That drain lists
// every pending entry when it comes, so a route queued behind its key's
// pending entries meanwhile waits for it rather than ask for a drain now
// (see hold): while the store, the log or the partner fails, a burst of
// new events must not try every pending entry again per event, past the
// drain's back-off.
func (c *connControl) retryScheduled(run *runLife, now time.Time) bool {
	if run == nil {
		return false
	}
	c.retryMu.Lock()
	defer c.retryMu.Unlock()
	return c.retryScheduledLocked(run, now)
}

// retryScheduledLocked is retryScheduled for a non-nil run; c.retryMu is
// held.
func (c *connControl) retryScheduledLocked(run *runLife, now time.Time) bool {
	return c.retryRun == run && now.Before(c.retryAt)
}

// drainPush pushes p, a pending entry, as a hold of its key: while its
// push runs the log shows the entry in progress, not pending, and a push
// that fails for a reason that may pass puts it back to pending (see
// keepPending). Counted as a hold under way (see mustHold), it makes a new
// route of the key queue behind the entry rather than push live and be
// overtaken by the entry's next drain, and it keeps a look at the log that
// finds nothing pending meanwhile from telling later routes to stop
// asking (see nonePending). Its end counts as a hold written: the entry
// is back in the log, pending, or settled. While it runs, a route of the
// same event held meanwhile takes the entry's place (see placeOf).
func (d *Dispatcher) drainPush(ctx context.Context, ctl *connControl, p Delivery) (Result, error) {
	ctl.startDrainPush(&p)
	defer ctl.endDrainPush(&p)
	return d.redo(ctx, p, true)
}

// supersedeLeft supersedes the entries of p's key that the drain left
// pending (their push failed, and may succeed later) and that are older
// than p, which the drain has just moved on: pushing them later would
// write older data over p's. It appends their results and errors.
func (d *Dispatcher) supersedeLeft(ctx context.Context, ctl *connControl, left map[string][]Delivery, p Delivery, results []Result, errs []error) ([]Result, []error) {
	keep := left[p.Key][:0]
	for _, q := range left[p.Key] {
		if q.Updated.After(p.Updated) { // ties: q came first in the drain's order
			keep = append(keep, q)
			continue
		}
		res, err := d.supersede(ctx, ctl, q)
		results = append(results, res)
		if err != nil {
			errs = append(errs, err)
		}
	}
	left[p.Key] = keep
	return results, errs
}

// wholeKeys is for a drain whose list of pending entries (page, the newest
// first) was cut at maxList: an older entry of one of its keys may lie
// beyond the cut, and pushing it after the newer one would leave the
// partner with the older. It lists each key of the page on its own, so
// that every key in the pass has all its pending entries (up to maxList
// of one key); keys wholly beyond the cut come in a later pass.
func (d *Dispatcher) wholeKeys(ctx context.Context, f DeliveryFilter, page []Delivery) ([]Delivery, error) {
	var out []Delivery
	seen := make(map[string]bool)
	for _, p := range page {
		if seen[p.Key] {
			continue
		}
		seen[p.Key] = true
		f.Key = p.Key
		all, err := d.log.List(ctx, f)
		if err != nil {
			return nil, err
		}
		out = append(out, all...)
	}
	return out, nil
}

// supersede settles dl, a pending entry older than one of its key that
// the drain already pushed, without pushing it: it is recorded Stale (the
// partner holds newer), and its event is announced once all of its routes
// are final, as a replay's would be. Pushing it would leave the partner
// with the older record when the records carry no version.
func (d *Dispatcher) supersede(ctx context.Context, ctl *connControl, dl Delivery) (Result, error) {
	res := Result{Connector: dl.Connector, Key: dl.Key, Status: StatusStale}
	d.record(ctx, Delivery{EventID: dl.EventID, EventType: dl.EventType, Connector: dl.Connector, Key: dl.Key,
		State: StatusStale, Updated: time.Now()})
	if dl.Event == nil {
		return res, nil
	}
	d.observe(ctx, ctl, dl.Event, &res)
	if d.pub != nil {
		if err := d.announceFromLog(ctx, *dl.Event); err != nil {
			return res, err
		}
	}
	return res, nil
}

// bury records dl, a pending entry that no drain can push (why says why:
// its event type has no route to the connector any more, or the log did
// not keep its event), dead, where DeadLetters shows it. Left pending, it
// would hold its key for good: every new event of the key would queue
// behind it (see mustHold). Its event, if kept, is announced once all of
// its routes are final.
func (d *Dispatcher) bury(ctx context.Context, ctl *connControl, dl Delivery, why error) (Result, error) {
	res := Result{Connector: dl.Connector, Key: dl.Key, Status: StatusFailed, Attempts: dl.Attempts, Err: Permanent(why)}
	d.record(ctx, Delivery{EventID: dl.EventID, EventType: dl.EventType, Connector: dl.Connector, Key: dl.Key,
		State: StatusDead, Attempts: dl.Attempts, Error: clip.String(why.Error(), maxMessage), Event: dl.Event, Updated: time.Now()})
	ev := dl.Event
	if ev == nil {
		ev = &Event{ID: dl.EventID, Type: dl.EventType} // what the log kept of it
	}
	d.observe(ctx, ctl, ev, &res)
	if dl.Event != nil && d.pub != nil {
		if err := d.announceFromLog(ctx, *dl.Event); err != nil {
			return res, err
		}
	}
	return res, nil
}

// movedOn reports whether a drained route took its entry out of the
// pending state: it was pushed, found done or stale, or failed for good (a
// permanent error, or the retry policy gave up: the entry is dead). A
// route held again, or one that failed for a reason that may pass (its
// context ended, the key's lease was lost, the store or the log did not
// answer), leaves the entry pending (see redo).
func movedOn(res Result) bool {
	switch res.Status {
	case StatusPending:
		return false
	case StatusFailed:
		return IsPermanent(res.Err)
	}
	return true
}

// DeadLetters lists the routes that failed for good (Dead) or did not
// finish (Failed), newest first, selected by f; f.States is ignored.
func (d *Dispatcher) DeadLetters(ctx context.Context, f DeliveryFilter) ([]Delivery, error) {
	if d.log == nil {
		return nil, errors.New("synclayer: dead letters: no delivery log")
	}
	f.States = []Status{StatusDead, StatusFailed}
	return d.log.List(ctx, f)
}

// Replay pushes dead letters (and failed deliveries) again, one by one,
// through the same idempotency rules as any push: a replay that finds the
// route done reports Duplicate, so replaying twice never duplicates. It
// returns the results in the order replayed.
//
// A letter is pushed as it was: for a record without a version, a letter
// replayed after a newer event of its key was pushed writes the older data
// over it (nothing orders two unversioned events but their arrival, which
// a replay comes long after). Replay such letters only when they are the
// newest of their key, or resync the key after; versioned records are
// safe, as the store skips a stale version.
//
// It stops at the first error:
// a letter that could not be pushed (the log kept no event, no route), or
// an announcement that could not be published; the push before that
// announcement is among the results.
func (d *Dispatcher) Replay(ctx context.Context, f DeliveryFilter) ([]Result, error) {
	dead, err := d.DeadLetters(ctx, f)
	if err != nil {
		return nil, err
	}
	slices.Reverse(dead) // oldest first
	results := make([]Result, 0, len(dead))
	for _, dl := range dead {
		res, err := d.redo(ctx, dl, false)
		if res.Connector != "" {
			results = append(results, res) // pushed, even if its announcement failed
		}
		if err != nil {
			return results, err
		}
	}
	return results, nil
}

// redo pushes one logged delivery again, then announces its event if all
// of the event's routes are now final.
//
// With pending set, dl is a pending entry that a drain pushes. Its event
// was acknowledged on the bus when it was held, so nothing but a drain
// will push it: a push that fails for a reason that may pass (its context
// ended, the key's lease was lost, the store did not answer, the
// connector was held again) leaves the entry pending, with its event and
// its Updated time (its place among its key's entries), for the next
// drain, which Resume, the breaker, the next Run or, under a Run, the
// drain's own retryLater starts. Only a failure for good makes it dead,
// as it does a live route's.
func (d *Dispatcher) redo(ctx context.Context, dl Delivery, pending bool) (Result, error) {
	if dl.Event == nil {
		return Result{}, fmt.Errorf("synclayer: event %s connector %s: the delivery log kept no event to push", quote(dl.EventID), quote(dl.Connector))
	}
	ev := *dl.Event
	rt, ok := d.reg.route(ev.Type, dl.Connector)
	if !ok {
		return Result{}, fmt.Errorf("synclayer: event %s: no route of %s to connector %s: %w", quote(ev.ID), quote(ev.Type), quote(dl.Connector), ErrUnknownConnector)
	}
	var res Result
	d.runRouteOf(ctx, &ev, rt, &res, false, &dl)
	if pending && res.Status == StatusFailed && !IsPermanent(res.Err) {
		d.keepPending(ctx, dl)
		return res, nil
	}
	if d.pub != nil && res.Status != StatusPending {
		actx := ctx
		if res.Status == StatusSynced {
			// Pushed and logged: announced even though ctx ended.
			var cancel context.CancelFunc
			actx, cancel = afterPush(ctx)
			defer cancel()
		}
		if err := d.announceFromLog(actx, ev); err != nil {
			return res, err
		}
	}
	return res, nil
}

// keepPending puts dl, a pending entry whose drain push failed for a
// reason that may pass, back in the pending state, keeping what the
// failed push recorded (its error and attempts) for operators. It writes
// under a context of its own: the push may have failed because ctx ended.
//
// An entry already pending again (the push never began, the route was
// held again, or the bus brought the event again meanwhile and its route
// queued it) is left as it is, unless it is dated after dl: it is then
// written again with dl's date and event, its place among its key's
// entries (see hold and placeOf).
func (d *Dispatcher) keepPending(ctx context.Context, dl Delivery) {
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), settleTimeout)
	defer cancel()
	keep := dl
	if got, err := d.log.List(wctx, DeliveryFilter{EventID: dl.EventID, Connector: dl.Connector, Limit: 1}); err == nil && len(got) == 1 {
		switch got[0].State {
		case StatusPending:
			if !got[0].Updated.After(dl.Updated) {
				return
			}
			keep = got[0]
		case StatusFailed, StatusInProgress:
			keep = got[0]
		default:
			return // another push settled it meanwhile
		}
	}
	keep.State, keep.Event, keep.Updated = StatusPending, dl.Event, dl.Updated
	d.record(wctx, keep)
}

// announceFromLog announces ev from the delivery log's view of all its
// routes, once every route is final.
func (d *Dispatcher) announceFromLog(ctx context.Context, ev Event) error {
	rep := Report{Event: ev}
	for _, rt := range d.reg.routesFor(ev.Type) {
		got, err := d.log.List(ctx, DeliveryFilter{EventID: ev.ID, Connector: rt.conn.name, Limit: 1})
		if err != nil {
			return fmt.Errorf("synclayer: event %s: read delivery log: %w", quote(ev.ID), err)
		}
		if len(got) == 0 || !got[0].State.Final() {
			return nil
		}
		rep.Results = append(rep.Results, resultOf(got[0]))
	}
	return d.announce(ctx, rep, false, nil)
}

// resultOf turns a final log entry back into a Result.
func resultOf(dl Delivery) Result {
	r := Result{Connector: dl.Connector, Key: dl.Key, Status: dl.State, Attempts: dl.Attempts, Duration: dl.Duration}
	if dl.State == StatusDead {
		r.Status = StatusFailed // a Result that failed for good is Failed, with a permanent error
		r.Err = Permanent(errors.New(dl.Error))
	}
	return r
}

// ConnectorStatus is the live state of one connector of a dispatcher.
type ConnectorStatus struct {
	Name    string       `json:"name"`
	Paused  bool         `json:"paused"`
	Breaker BreakerState `json:"breaker"`
	// Counts of route outcomes since the dispatcher started.
	Synced    int64 `json:"synced"`
	Duplicate int64 `json:"duplicate"`
	Stale     int64 `json:"stale"`
	Failed    int64 `json:"failed"`
	Dead      int64 `json:"dead"`
	Pending   int64 `json:"pending"`
	Attempts  int64 `json:"attempts"`
	Retries   int64 `json:"retries"`
	InFlight  int64 `json:"inFlight"`
}

// Status returns the live state of every registered connector, in
// registration order.
func (d *Dispatcher) Status() []ConnectorStatus {
	d.reg.mu.Lock()
	conns := slices.Clone(d.reg.conns)
	d.reg.mu.Unlock()
	now := time.Now()
	out := make([]ConnectorStatus, len(conns))
	for i, ce := range conns {
		c := d.control(ce)
		s := ConnectorStatus{Name: ce.name, Paused: c.paused.Load(),
			Synced: c.synced.Load(), Duplicate: c.duplicate.Load(), Stale: c.stale.Load(),
			Failed: c.failed.Load(), Dead: c.dead.Load(), Pending: c.pending.Load(),
			Attempts: c.attempts.Load(), Retries: c.retries.Load(), InFlight: c.inFlight.Load()}
		if c.br != nil {
			s.Breaker = c.br.current(now)
		}
		out[i] = s
	}
	return out
}

// Deliveries lists the delivery log, newest first.
func (d *Dispatcher) Deliveries(ctx context.Context, f DeliveryFilter) ([]Delivery, error) {
	if d.log == nil {
		return nil, errors.New("synclayer: deliveries: no delivery log")
	}
	return d.log.List(ctx, f)
}

// Watch calls fn with every delivery the dispatcher records, as it records
// it, until stop is called. fn runs on the push path: it must be fast and
// must not block (hand the value to a buffered channel and drop on
// overflow, say).
func (d *Dispatcher) Watch(fn func(Delivery)) (stop func()) {
	d.watchMu.Lock()
	defer d.watchMu.Unlock()
	id := d.watchSeq
	d.watchSeq++
	next := make(map[uint64]func(Delivery), len(*d.watchers.Load())+1)
	for k, v := range *d.watchers.Load() {
		next[k] = v
	}
	next[id] = fn
	d.watchers.Store(&next)
	var once sync.Once
	return func() {
		once.Do(func() {
			d.watchMu.Lock()
			defer d.watchMu.Unlock()
			next := make(map[uint64]func(Delivery), len(*d.watchers.Load()))
			for k, v := range *d.watchers.Load() {
				if k != id {
					next[k] = v
				}
			}
			d.watchers.Store(&next)
		})
	}
}
