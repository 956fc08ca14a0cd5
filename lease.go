package synclayer

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/hmsplatform/synclayer/idempotency"
)

// LogCompleter is an optional interface of a [Store] that can share a
// database with a [DeliveryLog]. CompleteLogged does what Complete does and
// puts d in log, in one statement or one transaction, so the end of a push
// costs one round trip. It reports false, having done nothing, when log is
// not one it can write together with the store (the dispatcher then calls
// Complete and log.Put one after the other).
type LogCompleter interface {
	CompleteLogged(ctx context.Context, c idempotency.Claim, token string, log DeliveryLog, d Delivery) (bool, error)
}

// errLeaseLost is the cause with which a push is cancelled when its lease
// could not be kept.
var errLeaseLost = errors.New("lease lost")

// leaseTTLFor is the lease a route of ce asks for: short when the store
// renews leases, else long enough for the whole retry budget.
func (d *Dispatcher) leaseTTLFor(ce *connEntry) time.Duration {
	if d.renewer != nil {
		return d.leaseTTL
	}
	return ce.leaseTTL
}

// lease is what a route holds once its claim is acquired: the claim, the
// lease's token, and when the claim was sent. The store's lease runs from
// no earlier than that, so it ends no earlier than since+LeaseTTL.
type lease struct {
	claim idempotency.Claim
	token string
	since time.Time
}

// heartbeat renews one lease every third of its TTL from before its push
// begins until its route has settled the claim. The lease ends no earlier
// than TTL after the last renewal the store confirmed was sent; the push
// must be over by then, since another process may claim the key once the
// lease ends. So the push's context is cancelled a tenth of the TTL before
// that (the watchdog: the heartbeat's one timer waits for that moment
// while a renewal is out), or at once when the store says the lease is
// gone. No renewal outlives the watchdog, and a renewal that fails is
// tried again only when another, with its whole timeout of a third of the
// TTL, still ends before the watchdog; else the push is cancelled then.
type heartbeat struct {
	ctx    context.Context // the push's
	cancel context.CancelCauseFunc

	renewer idempotency.LeaseRenewer
	claim   idempotency.Claim
	token   string
	every   time.Duration // between renewals, and the timeout of one
	margin  time.Duration // how long before the lease could end the push is cancelled

	mu       sync.Mutex
	timer    *time.Timer
	renewed  time.Time          // when the last renewal the store confirmed was sent
	due      time.Time          // when the timer is meant to act next; an earlier firing is stale
	renewing bool               // a renewal is out: the timer is the watchdog
	stopOut  context.CancelFunc // ends the renewal that is out
	done     bool
	lost     bool
}

// keepLease starts renewing l's lease. The push runs under the returned
// heartbeat's ctx; stop ends the renewals.
func (d *Dispatcher) keepLease(ctx context.Context, l lease) *heartbeat {
	hctx, cancel := context.WithCancelCause(ctx)
	ttl := l.claim.LeaseTTL
	h := &heartbeat{ctx: hctx, cancel: cancel, renewer: d.renewer, claim: l.claim, token: l.token,
		every: max(ttl/3, time.Millisecond), margin: ttl / 10, renewed: l.since}
	h.mu.Lock()
	h.due = time.Now().Add(h.every)
	h.timer = time.AfterFunc(h.every, h.tick)
	h.mu.Unlock()
	return h
}

// deadline is when the push must be cancelled unless a renewal is
// confirmed before: a margin before the lease could end. h.mu is held.
func (h *heartbeat) deadline() time.Time {
	return h.renewed.Add(h.claim.LeaseTTL - h.margin)
}

// tick is the timer's function: it sends a renewal, or, when one is out,
// it is the watchdog and cancels the push.
func (h *heartbeat) tick() {
	h.mu.Lock()
	now := time.Now()
	if h.done || h.lost || now.Before(h.due) {
		h.mu.Unlock()
		return
	}
	dl := h.deadline()
	if h.renewing || !now.Before(dl) {
		h.loseLocked()
		h.mu.Unlock()
		return
	}
	// The renewal must not outlive the watchdog, nor ctx's end keep the
	// lease from being renewed while the route settles (stop ends it).
	rctx, cancel := context.WithTimeout(context.WithoutCancel(h.ctx), min(h.every, dl.Sub(now)))
	h.renewing, h.stopOut, h.due = true, cancel, dl
	h.timer.Reset(dl.Sub(now))
	h.mu.Unlock()

	ok, err := h.renewer.Renew(rctx, h.claim, h.token)
	cancel()

	h.mu.Lock()
	defer h.mu.Unlock()
	if h.done || h.lost {
		return
	}
	h.renewing, h.stopOut = false, nil
	wait := h.every
	switch {
	case err == nil && ok:
		h.renewed = now
	case err == nil:
		h.loseLocked() // the store says the lease is gone
		return
	default:
		// Another try gets its whole timeout, and must end before the
		// watchdog: sooner than usual, or not at all.
		after := time.Now()
		wait = min(wait, h.deadline().Sub(after)-h.every)
		if wait < 0 {
			h.loseLocked()
			return
		}
		now = after
	}
	h.due = now.Add(wait)
	h.timer.Reset(time.Until(h.due))
}

// loseLocked cancels the push: its lease could not be kept. h.mu is held.
func (h *heartbeat) loseLocked() {
	h.lost = true
	h.cancel(errLeaseLost)
}

// lostYet reports whether the lease has been lost so far. The
// renewals go on until stop: the route still has the claim to settle.
func (h *heartbeat) lostYet() (lost bool) {
	h.mu.Lock()
	lost = h.lost
	h.mu.Unlock()
	return lost
}

// stop ends the renewals and the push's context.
func (h *heartbeat) stop() {
	h.mu.Lock()
	h.done = true
	h.timer.Stop()
	if h.stopOut != nil {
		h.stopOut()
	}
	h.mu.Unlock()
	h.cancel(nil)
}

func leaseLost(err error) error {
	return fmt.Errorf("%w: the lease on the key was lost during the push (it could not be renewed in time): %w", ErrStore, err)
}
