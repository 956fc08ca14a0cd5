package synclayer

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Run consumes sub until ctx ends, dispatching every event of a routed type.
// When ctx ends, Run stops taking events, lets the dispatches in flight
// finish for up to the drain timeout ([WithDrainTimeout]), then cancels them,
// and returns once all have returned. It returns nil after such a shutdown,
// or the subscriber's error if the bus failed first.
//
// The handler it gives the bus acknowledges an event whose routes all
// finished (synced, duplicate, stale, or failed for good: a permanent error,
// or the retry policy gave up; those are announced with SyncFailed and
// returned as [Permanent] so the bus dead-letters the event). It asks for a
// redelivery when a route did not finish (the store failed, the dispatch
// was cancelled) or the announcement could not be published.
func (d *Dispatcher) Run(ctx context.Context, sub Subscriber) error {
	if sub == nil {
		return errors.New("synclayer: Run: nil subscriber")
	}
	types := d.reg.EventTypes()
	if len(types) == 0 {
		return errors.New("synclayer: Run: the registry routes no event type")
	}
	workCtx, cancelWork := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelWork()
	stopDrain := context.AfterFunc(ctx, func() {
		t := time.AfterFunc(d.drainTimeout, cancelWork)
		context.AfterFunc(workCtx, func() { t.Stop() })
	})
	defer stopDrain()

	var (
		mu       sync.Mutex
		inflight int
		stopped  bool
		idle     = sync.NewCond(&mu)
	)
	h := func(_ context.Context, ev Event) error {
		mu.Lock()
		if stopped {
			mu.Unlock()
			return fmt.Errorf("synclayer: event %s: dispatcher stopped", quote(ev.ID))
		}
		inflight++
		mu.Unlock()
		defer func() {
			mu.Lock()
			inflight--
			if inflight == 0 {
				idle.Broadcast()
			}
			mu.Unlock()
		}()
		return d.handle(workCtx, ev)
	}

	err := sub.Subscribe(ctx, types, h)

	mu.Lock()
	stopped = true
	for inflight > 0 {
		idle.Wait()
	}
	mu.Unlock()
	if err != nil && ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		return nil
	}
	if err == nil && ctx.Err() == nil {
		return errors.New("synclayer: Run: subscriber returned before its context ended")
	}
	if err != nil {
		return fmt.Errorf("synclayer: Run: %w", err)
	}
	return nil
}

// handle turns a dispatch into the bus's ack, redeliver or dead-letter.
func (d *Dispatcher) handle(ctx context.Context, ev Event) error {
	rep, err := d.Dispatch(ctx, ev)
	if err == nil {
		return nil
	}
	if rep.err != nil && !IsPermanent(rep.err) {
		return err // announcement not published: redeliver to publish it
	}
	for _, r := range rep.Results {
		if r.Status == StatusFailed && !IsPermanent(r.Err) {
			return err
		}
	}
	return Permanent(err)
}
