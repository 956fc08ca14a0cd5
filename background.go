package synclayer

import (
	"context"
	"slices"
	"sync"
	"time"
)

// Work that outlives one dispatch (drains of pending routes, settling an
// announcement's claim) runs in the background, bounded by the life of
// the Run that scheduled it, so that Run waits for it before it returns.

// runLife is one Run in progress: background work it started (drains of
// pending routes) runs under its context and is waited for before Run
// returns. Its handlers and jobs get jobCtx, which names the life, so that
// work they schedule in turn belongs to the same Run, even once that Run
// has left Dispatcher.runs, and not to another Run on the Dispatcher.
type runLife struct {
	// ctx is the Run's work: it ends at the drain timeout after the Run
	// stops, or once the Run has returned.
	ctx    context.Context
	jobCtx context.Context
	// stop ends when the Run stops taking events (its context ended) or
	// returns. From then on no job of the Run starts, and its drains take
	// no new entry; the pushes under way go on until ctx ends, as the
	// dispatches in flight do (see endLife).
	stop context.Context
	// Under Dispatcher.runsMu:
	ended bool       // Run is returning: no new job starts in it
	jobs  int        // jobs counted in and not yet out
	idle  *sync.Cond // signalled when jobs drops to 0
}

// lifeKey is the context key under which a job finds its runLife.
type lifeKey struct{}

// startLife starts the life of a Run whose work runs under ctx, and which
// stops when stop ends.
func (d *Dispatcher) startLife(ctx, stop context.Context) *runLife {
	l := &runLife{ctx: ctx, stop: stop, idle: sync.NewCond(&d.runsMu)}
	l.jobCtx = context.WithValue(ctx, lifeKey{}, l)
	d.runsMu.Lock()
	d.runs = append(d.runs, l)
	d.runsMu.Unlock()
	return l
}

// endLife ends l's background work and waits for it: stopNow ends l.stop,
// so that no job starts and the drains take no new entry, and cancel ends
// l.ctx once the drain timeout has passed, or the work has returned. A
// drain's push under way is thus let finish within the drain timeout, as
// a dispatch in flight is, rather than cut short the moment the handlers
// are done: what it pushes is recorded, instead of pushed again by the
// next Run. (Run's own timer, started when its context ended, may cancel
// l.ctx sooner; this one bounds a Run whose bus failed.)
func (d *Dispatcher) endLife(l *runLife, stopNow, cancel context.CancelFunc) {
	d.runsMu.Lock()
	d.runs = slices.DeleteFunc(d.runs, func(x *runLife) bool { return x == l })
	l.ended = true
	d.runsMu.Unlock()
	stopNow()
	t := time.AfterFunc(d.drainTimeout, cancel)
	d.runsMu.Lock()
	for l.jobs > 0 {
		l.idle.Wait()
	}
	d.runsMu.Unlock()
	t.Stop()
	cancel()
}

// stopping reports whether ctx is a job's or a handler's of a Run that has
// stopped (see runLife.stop): a drain under it takes no new entry.
func stopping(ctx context.Context) bool {
	l, _ := ctx.Value(lifeKey{}).(*runLife)
	return l != nil && l.stop.Err() != nil
}

// background runs fn on its own goroutine once delay has passed. Under a
// Run, fn gets that Run's context, does not start if the Run stops first,
// and Run waits for it; with no Run in progress (Dispatch alone), fn gets
// ctx without its cancellation, as nothing else would ever carry the work
// on. The Run is the one whose background job or handler ctx comes from,
// if any: a job scheduled by the work of a Run that has stopped is
// dropped (its Run no longer pushes; what a drain would have pushed stays
// in the log, or on the bus, for the next Run). Else (Dispatch, Resume)
// it is the newest Run in progress that has not stopped, and if that one
// stops before the job's time, the newest that goes on.
func (d *Dispatcher) background(ctx context.Context, delay time.Duration, fn func(context.Context)) {
	d.goBackground(ctx, delay, false, fn)
}

// finishLater runs fn on its own goroutine now, and under a Run makes Run
// wait for it; fn runs even if the Run is ending (it must bound itself).
func (d *Dispatcher) finishLater(ctx context.Context, fn func(context.Context)) {
	d.goBackground(ctx, 0, true, fn)
}

// join finds the Run that a job scheduled with ctx belongs to and counts
// the job in it. It returns nil with no Run to wait for the job, and
// false if the job is to be dropped.
func (d *Dispatcher) join(ctx context.Context, always bool) (*runLife, bool) {
	d.runsMu.Lock()
	defer d.runsMu.Unlock()
	l := d.lifeOfLocked(ctx)
	switch {
	case l == nil:
		return nil, true
	case l.ended && !always:
		return nil, false
	case l.ended && l.jobs == 0:
		// Nothing of that Run is left to wait for the job: it runs
		// on its own, as with no Run.
		return nil, true
	}
	l.jobs++
	return l, true
}

// lifeOfLocked returns the Run that work scheduled with ctx belongs to:
// the one whose background job or handler ctx comes from, ended or not,
// else the newest in progress that has not stopped, else the newest
// stopping, or nil with none. d.runsMu is held.
func (d *Dispatcher) lifeOfLocked(ctx context.Context) *runLife {
	if l, _ := ctx.Value(lifeKey{}).(*runLife); l != nil {
		return l
	}
	for i := len(d.runs) - 1; i >= 0; i-- {
		if d.runs[i].stop.Err() == nil {
			return d.runs[i]
		}
	}
	if n := len(d.runs); n > 0 {
		return d.runs[n-1]
	}
	return nil
}

// runOf returns the Run that background work scheduled with ctx belongs
// to (see join), or nil for none: no Run in progress, or the Run of ctx
// has stopped.
func (d *Dispatcher) runOf(ctx context.Context) *runLife {
	d.runsMu.Lock()
	defer d.runsMu.Unlock()
	if l := d.lifeOfLocked(ctx); l != nil && !l.ended && l.stop.Err() == nil {
		return l
	}
	return nil
}

// leave counts a job of l out.
func (d *Dispatcher) leave(l *runLife) {
	d.runsMu.Lock()
	l.jobs--
	if l.jobs == 0 {
		l.idle.Broadcast()
	}
	d.runsMu.Unlock()
}

func (d *Dispatcher) goBackground(ctx context.Context, delay time.Duration, always bool, fn func(context.Context)) {
	l, ok := d.join(ctx, always)
	if !ok {
		return
	}
	if l == nil {
		time.AfterFunc(delay, func() { fn(context.WithoutCancel(ctx)) })
		return
	}
	run := func() {
		defer d.leave(l)
		if always || l.stop.Err() == nil {
			fn(l.jobCtx)
		}
	}
	if always || delay <= 0 {
		go run()
		return
	}
	// A delayed job gives up its wait when the Run stops, and stops
	// watching for that once its time has come, so that the watches of a
	// long Run's many delayed drains do not pile up.
	var (
		mu      sync.Mutex
		unwatch func() bool
	)
	mu.Lock()
	defer mu.Unlock()
	due := time.Now().Add(delay)
	t := time.AfterFunc(delay, func() {
		mu.Lock()
		stopWatch := unwatch
		mu.Unlock()
		stopWatch()
		run()
	})
	unwatch = context.AfterFunc(l.stop, func() {
		if !t.Stop() {
			return
		}
		d.leave(l)
		// A job that no Run scheduled (Dispatch, Resume) went with the
		// newest Run; when that one stops first, the job moves, keeping
		// its time, to the newest that goes on, if any.
		if ctx.Value(lifeKey{}) == nil && d.runOf(ctx) != nil {
			d.goBackground(ctx, time.Until(due), always, fn)
		}
	})
}
