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
	ctx    context.Context
	jobCtx context.Context
	// Under Dispatcher.runsMu:
	ended bool       // Run is returning: no new job starts in it
	jobs  int        // jobs counted in and not yet out
	idle  *sync.Cond // signalled when jobs drops to 0
}

// lifeKey is the context key under which a job finds its runLife.
type lifeKey struct{}

func (d *Dispatcher) startLife(ctx context.Context) *runLife {
	l := &runLife{ctx: ctx, idle: sync.NewCond(&d.runsMu)}
	l.jobCtx = context.WithValue(ctx, lifeKey{}, l)
	d.runsMu.Lock()
	d.runs = append(d.runs, l)
	d.runsMu.Unlock()
	return l
}

// endLife ends l's background work and waits for it.
func (d *Dispatcher) endLife(l *runLife, cancel context.CancelFunc) {
	d.runsMu.Lock()
	d.runs = slices.DeleteFunc(d.runs, func(x *runLife) bool { return x == l })
	l.ended = true
	d.runsMu.Unlock()
	cancel()
	d.runsMu.Lock()
	for l.jobs > 0 {
		l.idle.Wait()
	}
	d.runsMu.Unlock()
}

// background runs fn on its own goroutine once delay has passed. Under a
// Run, fn gets that Run's context, does not start if the Run ends first,
// and Run waits for it; with no Run in progress (Dispatch alone), fn gets
// ctx without its cancellation, as nothing else would ever carry the work
// on. The Run is the one whose background job or handler ctx comes from,
// if any, or else (Dispatch, Resume) the newest in progress: a job
// scheduled by the job of a Run that is ending is dropped (its Run no
// longer pushes; what a drain would have pushed stays in the log, or on
// the bus, for the next Run).
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
// the one whose background job ctx comes from, ended or not, else the
// newest in progress, or nil with none. d.runsMu is held.
func (d *Dispatcher) lifeOfLocked(ctx context.Context) *runLife {
	if l, _ := ctx.Value(lifeKey{}).(*runLife); l != nil {
		return l
	}
	if n := len(d.runs); n > 0 {
		return d.runs[n-1]
	}
	return nil
}

// runOf returns the Run that background work scheduled with ctx belongs
// to (see join), or nil for none: no Run in progress, or the Run of ctx
// is ending.
func (d *Dispatcher) runOf(ctx context.Context) *runLife {
	d.runsMu.Lock()
	defer d.runsMu.Unlock()
	if l := d.lifeOfLocked(ctx); l != nil && !l.ended {
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
		if always || l.ctx.Err() == nil {
			fn(l.jobCtx)
		}
	}
	if always || delay <= 0 {
		go run()
		return
	}
	// A delayed job gives up its wait when the Run ends, and stops
	// watching for that end once its time has come, so that the watches
	// of a long Run's many delayed drains do not pile up.
	var (
		mu   sync.Mutex
		stop func() bool
	)
	mu.Lock()
	defer mu.Unlock()
	t := time.AfterFunc(delay, func() {
		mu.Lock()
		stopWatch := stop
		mu.Unlock()
		stopWatch()
		run()
	})
	stop = context.AfterFunc(l.ctx, func() {
		if t.Stop() {
			d.leave(l)
		}
	})
}
