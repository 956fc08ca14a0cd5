package synclayer

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"
)

// Run consumes sub until ctx ends, dispatching every event of a routed type.
// When ctx ends, Run stops taking events, lets the dispatches in flight
// finish for up to the drain timeout ([WithDrainTimeout]), then cancels them,
// and returns once all have returned, background drains of pending routes
// included: no Connector.Sync is called by this Run after it returns. A
// background drain takes no new entry once ctx ends, and the push it has
// under way gets the same drain timeout as a dispatch in flight. It
// returns nil after such a shutdown, or the subscriber's error if the bus
// failed first.
//
// When it starts, Run pushes what a durable delivery log ([idempotency.DurableLog])
// holds as pending for connectors that are not paused: routes held before
// a restart are not forgotten.
//
// The handler it gives the bus acknowledges an event whose routes all
// finished (synced, duplicate, stale, or failed for good: a permanent
// error, or the retry policy gave up; those are announced with SyncFailed
// and returned as [Permanent] so the bus dead-letters the event), or are
// held as pending in a durable log. It asks for a redelivery when a route
// did not finish (the store failed, the dispatch was cancelled) or the
// announcement could not be published. It hands the event back with
// [Redeliver], a redelivery that the bus does not count as a failure, when
// a route's key is leased by another process (it waits at most a quarter
// of a second for it, so a busy or dead process's keys never fill the
// handler slots), when a route is held by a paused connector or an open
// breaker and the log would keep it only in memory, or when the delivery
// log could not be read or written for a route that may have to queue in
// it. Any route left to do
// makes the event come again, even when another of its routes failed for
// good (that route is in the delivery log, for Replay); and a dispatch
// that Run itself cancelled as it stopped is handed back uncounted, so a
// shutdown never dead-letters an event.
//
// Several Runs may share a Dispatcher (one per bus, say). The background
// work that a Run's handlers start (drains of the routes they queued) is
// that Run's: it waits for it, and ends it when it returns. Work that
// Dispatch or Resume, called outside any Run, leaves for later goes with
// the newest Run, and moves to another that goes on if that one stops
// first.
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
	stopCtx, stopNow := context.WithCancel(ctx)
	life := d.startLife(workCtx, stopCtx)
	defer d.endLife(life, stopNow, cancelWork)
	// Dispatches and drains run under the life's context, which names this
	// Run: the background work they schedule belongs to it, not to the
	// newest of several Runs on this Dispatcher (see Dispatcher.join).
	runCtx := life.jobCtx
	if d.durableLog {
		d.reg.mu.Lock()
		conns := slices.Clone(d.reg.conns)
		d.reg.mu.Unlock()
		for _, ce := range conns {
			if !d.control(ce).paused.Load() {
				d.background(runCtx, 0, func(ctx context.Context) { _, _ = d.drain(ctx, ce) })
			}
		}
	}

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
		return d.handle(runCtx, ev)
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
//
// An event with any route left to do (failed but retryable, busy, or held
// in a log that does not survive a restart) is redelivered, whatever its
// other routes did: the answer then carries only the errors of what is
// left to do. Those of routes that failed for good stay out of it, since
// one permanent mark anywhere in the answer would make the bus
// dead-letter the event, and the routes still to do with it. Likewise an
// answer counted as a failure carries no Redeliver mark of a busy or held
// sibling, which would leave it uncounted. Failures of work that Run
// cut short as it stopped are all redelivered uncounted.
func (d *Dispatcher) handle(ctx context.Context, ev Event) error {
	rep, err := d.dispatch(ctx, ev, true)
	var (
		later             time.Duration
		retried, deferred []error // redeliver as a failure; as "too early"
	)
	note := func(e error) {
		if after, ok := RedeliverAfter(e); ok {
			deferred, later = append(deferred, e), max(later, after)
		} else {
			retried = append(retried, e)
		}
	}
	if rep.err != nil && !IsPermanent(rep.err) {
		note(rep.err)
	}
	for _, r := range rep.Results {
		switch {
		case r.Status == StatusFailed && !IsPermanent(r.Err):
			note(r.Err)
		case r.Status == StatusPending && !d.durableLog:
			if ce, cerr := d.entry(r.Connector); cerr == nil {
				later = max(later, d.control(ce).holdDelay(time.Now()))
			}
			deferred = append(deferred, fmt.Errorf("synclayer: event %s connector %s: %w; its delivery log does not survive a restart, so the bus keeps the event",
				quote(ev.ID), quote(r.Connector), errHeld))
		}
	}
	if ctx.Err() != nil {
		// Run is stopping and cut the work short (see WithDrainTimeout):
		// what failed did not fail on its own, so it comes again
		// uncounted, even on its last delivery the bus allows.
		deferred, retried = append(deferred, retried...), nil
	}
	switch {
	case len(retried) > 0:
		return errors.Join(retried...)
	case len(deferred) > 0:
		return Redeliver(errors.Join(deferred...), later)
	case err != nil:
		return Permanent(err)
	}
	return nil
}
