package synclayer

import (
	"context"
	"sync"
	"time"

	"github.com/hmsplatform/synclayer/internal/enum"
)

// BreakerPolicy configures a connector's circuit breaker ([WithBreaker]).
// The breaker counts attempts over a sliding Window; when at least
// MinRequests were made and the share that failed reaches FailureRate, it
// opens: the connector's routes queue as pending instead of being pushed,
// so a dead partner costs nothing and burns no retry budget. After OpenFor
// it lets one probe through (half-open); the probe's success closes it and
// pushes what queued, in key order; its failure opens it again.
//
// Zero fields take the defaults: Window 30s, MinRequests 10, FailureRate
// 0.5, OpenFor 30s.
type BreakerPolicy struct {
	Window      time.Duration
	MinRequests int
	FailureRate float64
	OpenFor     time.Duration
}

func (p BreakerPolicy) withDefaults() BreakerPolicy {
	if p.Window <= 0 {
		p.Window = 30 * time.Second
	}
	if p.MinRequests <= 0 {
		p.MinRequests = 10
	}
	if p.FailureRate <= 0 || p.FailureRate > 1 {
		p.FailureRate = 0.5
	}
	if p.OpenFor <= 0 {
		p.OpenFor = 30 * time.Second
	}
	return p
}

// BreakerState is the state of a circuit breaker.
type BreakerState int

const (
	// BreakerClosed: attempts flow.
	BreakerClosed BreakerState = iota
	// BreakerOpen: attempts are held; routes queue as pending.
	BreakerOpen
	// BreakerHalfOpen: one probe attempt is allowed.
	BreakerHalfOpen
)

var breakerEnum = enum.Names{Type: "BreakerState", Names: []string{BreakerClosed: "closed", BreakerOpen: "open", BreakerHalfOpen: "half_open"}}

// String returns "closed", "open" or "half_open", or "BreakerState(n)" for
// an unknown value.
func (s BreakerState) String() string { return breakerEnum.String(int(s)) }

// MarshalText encodes the state as its name; an unknown value is an error.
func (s BreakerState) MarshalText() ([]byte, error) { return breakerEnum.MarshalText(int(s)) }

// UnmarshalText decodes a state name; anything else is an error.
func (s *BreakerState) UnmarshalText(b []byte) error { return enum.Decode(breakerEnum, b, s) }

const breakerBuckets = 10

// breaker is a failure-rate circuit breaker over a sliding window of
// time buckets.
type breaker struct {
	p        BreakerPolicy
	mu       sync.Mutex
	state    BreakerState
	openedAt time.Time
	probing  bool
	buckets  [breakerBuckets]struct {
		start     time.Time
		ok, fails int
	}
}

func newBreaker(p BreakerPolicy) *breaker { return &breaker{p: p} }

// allow reports whether an attempt may go now. In half-open state the first
// caller becomes the probe (probe is true) and must report its outcome.
func (b *breaker) allow(now time.Time) (ok, probe bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch b.state {
	case BreakerClosed:
		return true, false
	case BreakerOpen:
		if now.Sub(b.openedAt) < b.p.OpenFor {
			return false, false
		}
		b.state = BreakerHalfOpen
		fallthrough
	default: // half-open
		if b.probing {
			return false, false
		}
		b.probing = true
		return true, true
	}
}

// record notes an attempt's outcome and returns the state before and
// after.
func (b *breaker) record(now time.Time, failed, probe bool) (from, to BreakerState) {
	b.mu.Lock()
	defer b.mu.Unlock()
	from = b.state
	if probe {
		b.probing = false
		if failed {
			b.state, b.openedAt = BreakerOpen, now
		} else {
			b.state = BreakerClosed
			b.buckets = [breakerBuckets]struct {
				start     time.Time
				ok, fails int
			}{}
		}
		return from, b.state
	}
	if b.state != BreakerClosed {
		return from, b.state // late results of attempts started before opening
	}
	width := b.p.Window / breakerBuckets
	slot := now.Truncate(width)
	bk := &b.buckets[(slot.UnixNano()/int64(width))%breakerBuckets]
	if !bk.start.Equal(slot) {
		bk.start, bk.ok, bk.fails = slot, 0, 0
	}
	if failed {
		bk.fails++
	} else {
		bk.ok++
	}
	total, fails := 0, 0
	for i := range b.buckets {
		if now.Sub(b.buckets[i].start) < b.p.Window {
			total += b.buckets[i].ok + b.buckets[i].fails
			fails += b.buckets[i].fails
		}
	}
	if total >= b.p.MinRequests && float64(fails) >= b.p.FailureRate*float64(total) {
		b.state, b.openedAt = BreakerOpen, now
	}
	return from, b.state
}

// cancelProbe gives back the probe slot of a probe that did not run (its
// wait for the rate limiter or a concurrency slot failed) or whose outcome
// is unknown (its dispatch was cancelled, it panicked on the way): the
// breaker stays half-open and the next attempt probes.
func (b *breaker) cancelProbe() {
	b.mu.Lock()
	b.probing = false
	b.mu.Unlock()
}

func (b *breaker) current(now time.Time) BreakerState {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.state == BreakerOpen && now.Sub(b.openedAt) >= b.p.OpenFor {
		return BreakerHalfOpen
	}
	return b.state
}

// reopenAt says when an open breaker will let a probe through.
func (b *breaker) reopenAt() time.Time {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.openedAt.Add(b.p.OpenFor)
}

// breakerChanged tells the observers and, when the breaker closes or may
// probe, drains what queued.
func (d *Dispatcher) breakerChanged(ctx context.Context, ce *connEntry, from, to BreakerState) {
	if from == to {
		return
	}
	if bo, ok := d.obs.(BreakerObserver); ok {
		bo.ObserveBreaker(ctx, ce.name, from, to)
	}
	switch to {
	case BreakerOpen:
		// Probe once OpenFor has passed: push the oldest pending item. The
		// wait and the drain end with the Run they belong to.
		d.drainLater(ctx, ce, time.Until(d.control(ce).br.reopenAt()))
	case BreakerClosed:
		d.drainLater(ctx, ce, 0)
	}
}

// BreakerObserver is an optional extension of [Observer]: the dispatcher
// calls ObserveBreaker when a connector's circuit breaker changes state, so
// an alert can be sent when one opens.
type BreakerObserver interface {
	ObserveBreaker(ctx context.Context, connector string, from, to BreakerState)
}
