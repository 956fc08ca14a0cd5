// Package closing gives the bus adapters one way to close: stop taking new
// work, let the handlers in flight finish until a deadline, then cancel
// them.
package closing

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/bus/internal/deliver"
)

// Group tracks the running Subscribe calls of one bus. The zero value is
// ready to use; a Group is safe for concurrent use.
type Group struct {
	mu      sync.Mutex
	closing bool
	done    atomic.Bool // Close has returned at least once
	active  int
	idle    chan struct{} // closed when closing and active reaches 0
	calls   map[*call]struct{}
}

type call struct{ stopTaking, stopHandlers context.CancelFunc }

// Enter registers one Subscribe call. take ends with ctx or when Close
// starts: the call must stop taking new events then. handle ends with ctx
// or when Close gives up waiting: handlers run with it. leave must be
// called once the call has returned. ok is false, and nothing is
// registered, once Close has started.
func (g *Group) Enter(ctx context.Context) (take, handle context.Context, leave func(), ok bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closing {
		return nil, nil, nil, false
	}
	handle, stopHandlers := context.WithCancel(ctx)
	take, stopTaking := context.WithCancel(handle)
	c := &call{stopTaking: stopTaking, stopHandlers: stopHandlers}
	if g.calls == nil {
		g.calls = make(map[*call]struct{})
	}
	g.calls[c] = struct{}{}
	g.active++
	var once sync.Once
	leave = func() {
		once.Do(func() {
			stopHandlers()
			g.mu.Lock()
			defer g.mu.Unlock()
			delete(g.calls, c)
			g.active--
			if g.closing && g.active == 0 {
				close(g.idle)
			}
		})
	}
	return take, handle, leave, true
}

// Start checks the arguments of a bus's Subscribe call as every bus does
// (deliver.CheckSubscribe, naming the bus pkg), then registers the call as
// Enter does. Once Close has started it registers nothing and returns
// closed, the bus's own sentinel.
func (g *Group) Start(ctx context.Context, pkg string, eventTypes []string, h func(context.Context, synclayer.Event) error, closed error) (take, handle context.Context, leave func(), err error) {
	if err := deliver.CheckSubscribe(pkg, eventTypes, h); err != nil {
		return nil, nil, nil, err
	}
	take, handle, leave, ok := g.Enter(ctx)
	if !ok {
		return nil, nil, nil, closed
	}
	return take, handle, leave, nil
}

// Close makes every registered call stop taking events and refuses new
// ones, then waits until they have all left. If ctx ends first, it
// cancels their handlers' contexts and returns ctx's error. Close may be
// called more than once; each call waits in the same way.
func (g *Group) Close(ctx context.Context) error {
	g.mu.Lock()
	if !g.closing {
		g.closing = true
		g.idle = make(chan struct{})
		if g.active == 0 {
			close(g.idle)
		}
	}
	for c := range g.calls {
		c.stopTaking()
	}
	idle := g.idle
	g.mu.Unlock()
	select {
	case <-idle:
		g.done.Store(true)
		return nil
	case <-ctx.Done():
		g.mu.Lock()
		for c := range g.calls {
			c.stopHandlers()
		}
		g.mu.Unlock()
		g.done.Store(true)
		return ctx.Err()
	}
}

// Closed reports whether Close has returned: the bus then refuses to
// publish.
func (g *Group) Closed() bool { return g.done.Load() }
