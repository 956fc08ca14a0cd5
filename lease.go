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

// heartbeat renews one lease every third of its TTL while a push runs. If
// the store says the lease is gone, or the lease could end before the next
// renewal is confirmed, it cancels the push's context: another process may
// claim the key once the lease ends, and must not find this push still
// running.
type heartbeat struct {
	ctx    context.Context
	cancel context.CancelCauseFunc

	mu      sync.Mutex
	timer   *time.Timer
	renewed time.Time // when the last renewal the store confirmed was sent
	done    bool
	lost    bool
}

// keepLease starts renewing l's lease. The push runs under the returned
// heartbeat's ctx; stop ends the renewals.
func (d *Dispatcher) keepLease(ctx context.Context, l lease) *heartbeat {
	hctx, cancel := context.WithCancelCause(ctx)
	h := &heartbeat{ctx: hctx, cancel: cancel, renewed: l.since}
	every := max(l.claim.LeaseTTL/3, time.Millisecond)
	h.mu.Lock()
	h.timer = time.AfterFunc(every, func() { h.beat(d.renewer, l.claim, l.token, every) })
	h.mu.Unlock()
	return h
}

// beat renews the lease once. A renewal that fails (an error, or no answer
// within every) is survived only while the lease is sure to outlast the
// next one: the next is sent every from now, and the lease ends no earlier
// than TTL after the last confirmed renewal was sent. So one quick failure
// is survived, and a renewal that hangs is not.
func (h *heartbeat) beat(r idempotency.LeaseRenewer, c idempotency.Claim, token string, every time.Duration) {
	sent := time.Now()
	rctx, cancel := context.WithTimeout(h.ctx, every)
	ok, err := r.Renew(rctx, c, token)
	cancel()
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.done {
		return
	}
	switch {
	case err == nil && ok:
		h.renewed = sent
	case err == nil, !time.Now().Add(every).Before(h.renewed.Add(c.LeaseTTL)):
		h.lost = true
		h.cancel(errLeaseLost)
		return
	}
	h.timer.Reset(every)
}

// stop ends the renewals and reports whether the lease was lost.
func (h *heartbeat) stop() (lost bool) {
	h.mu.Lock()
	h.done = true
	h.timer.Stop()
	lost = h.lost
	h.mu.Unlock()
	h.cancel(nil)
	return lost
}

func leaseLost(err error) error {
	return fmt.Errorf("%w: the lease on the key was lost during the push (it could not be renewed in time): %w", ErrStore, err)
}
