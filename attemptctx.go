package synclayer

import (
	"context"
	"sync"
	"time"
)

// attemptCtx is the context of one Sync attempt: its parent's values and
// cancellation, plus the per-attempt deadline.
//
// context.WithTimeout costs a timer and several allocations per attempt.
// This context is lazy: Err and Deadline are answered from the clock, and
// the real timer context is built only when someone waits on Done, derives
// a child context, or registers an AfterFunc. A connector that does I/O
// pays what WithTimeout costs; one that does not pays one allocation.
//
// It pays for its lines: with context.WithDeadline in its place,
// BenchmarkDispatch with three no-op connectors takes 15% longer per event
// and 9 more allocations, and BenchmarkDispatchParallel 7% longer
// (alternated runs, n=14, p <= 0.027).
type attemptCtx struct {
	parent   context.Context
	deadline time.Time

	mu       sync.Mutex
	inner    context.Context
	cancel   context.CancelFunc
	released bool
}

func (c *attemptCtx) Deadline() (time.Time, bool) {
	if pd, ok := c.parent.Deadline(); ok && pd.Before(c.deadline) {
		return pd, true
	}
	return c.deadline, true
}

func (c *attemptCtx) Value(key any) any {
	return c.parent.Value(key)
}

func (c *attemptCtx) materialize() context.Context {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.inner == nil {
		c.inner, c.cancel = context.WithDeadline(c.parent, c.deadline)
		if c.released {
			c.cancel()
		}
	}
	return c.inner
}

func (c *attemptCtx) Done() <-chan struct{} { return c.materialize().Done() }

func (c *attemptCtx) Err() error {
	c.mu.Lock()
	inner, released := c.inner, c.released
	c.mu.Unlock()
	if inner != nil {
		return inner.Err()
	}
	if err := c.parent.Err(); err != nil {
		return err
	}
	if !time.Now().Before(c.deadline) {
		return context.DeadlineExceeded
	}
	if released {
		return context.Canceled
	}
	return nil
}

// AfterFunc lets context.WithCancel and friends propagate cancellation to
// children without a watcher goroutine (the context package looks for it).
func (c *attemptCtx) AfterFunc(f func()) (stop func() bool) {
	return context.AfterFunc(c.materialize(), f)
}

// release ends the attempt: like the cancel func of WithTimeout.
func (c *attemptCtx) release() {
	c.mu.Lock()
	c.released = true
	cancel := c.cancel
	c.mu.Unlock()
	if cancel != nil {
		cancel()
	}
}
