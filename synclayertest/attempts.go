package synclayertest

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/hmsplatform/synclayer"
)

// Attempts is a [synclayer.Observer] that keeps every attempt the
// dispatcher reports, for a test of retries: how many were made, and how
// long the dispatcher waited after each. Give it to the dispatcher with
// [synclayer.WithObserver]. Its zero value is ready to use, and it is safe
// for concurrent use.
type Attempts struct {
	mu   sync.Mutex
	list []synclayer.Attempt
}

// ObserveAttempt implements [synclayer.Observer]: it keeps a.
func (r *Attempts) ObserveAttempt(_ context.Context, a synclayer.Attempt) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.list = append(r.list, a)
}

// ObserveResult implements [synclayer.Observer]; it keeps nothing.
func (r *Attempts) ObserveResult(context.Context, synclayer.Event, synclayer.Result) {}

// List returns the attempts so far, in the order they were reported.
func (r *Attempts) List() []synclayer.Attempt {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.list)
}

// Waits returns the wait after each attempt so far ([synclayer.Attempt].Wait:
// zero when no attempt followed).
func (r *Attempts) Waits() []time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]time.Duration, len(r.list))
	for i, a := range r.list {
		out[i] = a.Wait
	}
	return out
}
