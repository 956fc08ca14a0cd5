package synclayer

import (
	"context"
	"fmt"
	"time"
)

// A record without a version carries no order of its own: the partner
// ends with whichever write came last. While a connector is held (paused,
// or its breaker open) its routes queue as pending in the delivery log,
// and a drain pushes them, each key's oldest first, once it is let go. A
// new event of a key that still has pending entries must not be pushed
// before them, or the drain would then write the older data over it. So a
// new route of such a key queues behind them, as pending too, and the
// drain pushes it after them, in arrival order (the order of the entries'
// Updated times, read from this process's clock for the entries it held).
// An entry held again keeps its Updated time, its place in that order:
// one whose drain push found the connector held again, or whose event the
// bus brought again while it was pending (see hold).
//
// The alternative, a drain that skips a pending entry when a newer one of
// its key was pushed meanwhile, needs to tell which of two events of a
// key came first, and with no version that means comparing the clocks of
// the processes that took them. Queueing behind needs no such comparison
// within a process.
//
// Which keys have pending entries is known in two ways:
//
//   - keysHeld.holding counts, per key, the routes of this process that
//     decided to hold and have not yet finished writing their entry, and
//     the drain pushes under way of its pending entries (whose entry is
//     in progress, not pending, while they run: see drainPush);
//   - the delivery log itself, asked per key, while keysHeld.mayPending
//     says the connector may have pending entries: it is set by every hold
//     and, for a durable log, from the start (entries held before a
//     restart), and cleared by a drain that found nothing pending with no
//     hold written or under way since it listed.
//
// The check runs before the key's lock, so a route that finds nothing
// pending and goes on cannot be overtaken by an older entry of its key:
// such an entry is either already in the log (the route sees it) or is
// being written by a hold that decided before this route looked (the route
// sees it in holding). Pause and the breaker are per process: a replica
// that is not held pushes its own routes live, and this queueing orders
// only what this process decides, plus what the shared durable log shows
// as pending when a route looks.
type keysHeld struct {
	holding    map[string]int
	written    uint64 // holds that finished writing their entry
	mayPending bool
	probed     bool // the connector-wide look at the log was made
	// draining holds, per event ID, the place of each pending entry whose
	// drain push is under way (see drainPush and placeOf).
	draining map[string]time.Time
}

// mustHold reports whether a new route of key must queue as pending: the
// connector is held, or (unless redo) the key has pending entries
// (behind). When it reports true the caller must call hold, which ends
// the hold's count.
// redo is set for a route that pushes a logged entry again (a drain's or a
// replay's), which does not queue behind the pending entries of its key.
//
// A look at the log that fails leaves the route undecided: it may neither
// be pushed (it could overtake a pending entry of its key) nor queue. Its
// error asks, with [Redeliver], for the event again after logReadRedelay,
// uncounted, as a hold that the log cannot keep does: the route did not
// fail, and the bus must not dead-letter events for as long as the log is
// down.
func (d *Dispatcher) mustHold(ctx context.Context, ce *connEntry, ctl *connControl, key string, now time.Time, redo bool) (hold, behind bool, err error) {
	ctl.keysMu.Lock()
	if ctl.held(now) {
		ctl.startHoldLocked(key)
		ctl.keysMu.Unlock()
		return true, false, nil
	}
	if !redo && ctl.keys.holding[key] > 0 {
		ctl.startHoldLocked(key)
		ctl.keysMu.Unlock()
		return true, true, nil
	}
	ask := !redo && d.log != nil && ctl.keys.mayPending
	probe := ask && !ctl.keys.probed
	ctl.keys.probed = ctl.keys.probed || probe
	written := ctl.keys.written
	ctl.keysMu.Unlock()
	if !ask {
		return false, false, nil
	}
	f := DeliveryFilter{Connector: ce.name, States: []Status{StatusPending}, Limit: 1}
	if probe {
		// The first look of a connector asks whether anything at all is
		// pending, so that a log with nothing pending is not asked per key.
		got, err := d.log.List(ctx, f)
		if err != nil {
			return false, false, logReadFailed("read pending entries", err)
		}
		if len(got) == 0 {
			ctl.nonePending(written)
			return false, false, nil
		}
	}
	f.Key = key
	got, err := d.log.List(ctx, f)
	if err != nil {
		return false, false, logReadFailed("read pending entries of the key", err)
	}
	if len(got) == 0 {
		return false, false, nil
	}
	ctl.keysMu.Lock()
	ctl.startHoldLocked(key)
	ctl.keysMu.Unlock()
	return true, true, nil
}

// logReadRedelay is how soon a route that could not read the log to learn
// whether its key has pending entries asks for its event again (see
// mustHold): a log that failed may answer again at once.
const logReadRedelay = 500 * time.Millisecond

// logReadFailed is the error of a route whose look at the log, what,
// failed with err: a request for a redelivery after about logReadRedelay.
func logReadFailed(what string, err error) error {
	return Redeliver(fmt.Errorf("%s: %w", what, err), jitter(logReadRedelay, 0.2))
}

// startHoldLocked counts a hold of key under way; ctl.keysMu is held.
func (c *connControl) startHoldLocked(key string) {
	if c.keys.holding == nil {
		c.keys.holding = make(map[string]int)
	}
	c.keys.holding[key]++
	c.keys.mayPending = true
}

// startHold counts a hold of key under way (see mustHold).
func (c *connControl) startHold(key string) {
	c.keysMu.Lock()
	c.startHoldLocked(key)
	c.keysMu.Unlock()
}

// endHold ends the count startHold began: key's entry is written, or
// could not be.
func (c *connControl) endHold(key string) {
	c.keysMu.Lock()
	defer c.keysMu.Unlock()
	c.endHoldLocked(key)
}

// endHoldLocked is endHold; c.keysMu is held.
func (c *connControl) endHoldLocked(key string) {
	if c.keys.holding[key]--; c.keys.holding[key] <= 0 {
		delete(c.keys.holding, key)
	}
	c.keys.written++
}

// startDrainPush counts the drain push of p, a pending entry, as a hold of
// its key under way (see mustHold), and keeps its place for a route of
// the same event held meanwhile (see drainPlace).
func (c *connControl) startDrainPush(p *Delivery) {
	c.keysMu.Lock()
	defer c.keysMu.Unlock()
	c.startHoldLocked(p.Key)
	if c.keys.draining == nil {
		c.keys.draining = make(map[string]time.Time)
	}
	c.keys.draining[p.EventID] = p.Updated
}

// endDrainPush ends what startDrainPush began: p's entry is back in the
// log, pending, or settled.
func (c *connControl) endDrainPush(p *Delivery) {
	c.keysMu.Lock()
	defer c.keysMu.Unlock()
	delete(c.keys.draining, p.EventID)
	c.endHoldLocked(p.Key)
}

// drainPlace returns the place of eventID's pending entry while a drain
// pushes it, and whether one does.
func (c *connControl) drainPlace(eventID string) (time.Time, bool) {
	c.keysMu.Lock()
	defer c.keysMu.Unlock()
	place, ok := c.keys.draining[eventID]
	return place, ok
}

// heldSoFar returns the count of holds written, to pass to nonePending
// after a look at the log that began after it was read.
func (c *connControl) heldSoFar() uint64 {
	c.keysMu.Lock()
	defer c.keysMu.Unlock()
	return c.keys.written
}

// nonePending records that a look at the log, begun when written holds had
// been written, found nothing pending for the connector: unless a hold was
// written or is under way since, new routes need not ask the log again.
func (c *connControl) nonePending(written uint64) {
	c.keysMu.Lock()
	defer c.keysMu.Unlock()
	if len(c.keys.holding) == 0 && c.keys.written == written {
		c.keys.mayPending = false
	}
}
