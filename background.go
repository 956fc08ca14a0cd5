package synclayer

import (
	"context"
	"slices"
	"sync"
	"time"
)

// Work that outlives one dispatch (drains of pending routes, settling an
// announcement's claim) runs in the background, bounded by the life of
// the Run in progress, so that Run waits for it before it returns.

// runLife is one Run in progress: background work it started (drains of
// pending routes) runs under its context and is waited for before Run
// returns.
type runLife struct {
	ctx context.Context
	wg  sync.WaitGroup
}

func (d *Dispatcher) startLife(ctx context.Context) *runLife {
	l := &runLife{ctx: ctx}
	d.runsMu.Lock()
	d.runs = append(d.runs, l)
	d.runsMu.Unlock()
	return l
}

// endLife ends l's background work and waits for it.
func (d *Dispatcher) endLife(l *runLife, cancel context.CancelFunc) {
	d.runsMu.Lock()
	d.runs = slices.DeleteFunc(d.runs, func(x *runLife) bool { return x == l })
	d.runsMu.Unlock()
	cancel()
	l.wg.Wait()
}

// background runs fn on its own goroutine once delay has passed. Under a
// Run, fn gets that Run's context, does not start if the Run ends first,
// and Run waits for it; with no Run in progress (Dispatch alone), fn gets
// ctx without its cancellation, as nothing else would ever carry the work
// on.
func (d *Dispatcher) background(ctx context.Context, delay time.Duration, fn func(context.Context)) {
	d.goBackground(ctx, delay, false, fn)
}

// finishLater runs fn on its own goroutine now, and under a Run makes Run
// wait for it; fn runs even if the Run is ending (it must bound itself).
func (d *Dispatcher) finishLater(ctx context.Context, fn func(context.Context)) {
	d.goBackground(ctx, 0, true, fn)
}

func (d *Dispatcher) goBackground(ctx context.Context, delay time.Duration, always bool, fn func(context.Context)) {
	d.runsMu.Lock()
	var l *runLife
	if n := len(d.runs); n > 0 {
		l = d.runs[n-1]
		l.wg.Add(1)
	}
	d.runsMu.Unlock()
	if l == nil {
		time.AfterFunc(delay, func() { fn(context.WithoutCancel(ctx)) })
		return
	}
	t := time.AfterFunc(delay, func() {
		defer l.wg.Done()
		if always || l.ctx.Err() == nil {
			fn(l.ctx)
		}
	})
	if !always {
		context.AfterFunc(l.ctx, func() {
			if t.Stop() {
				l.wg.Done()
			}
		})
	}
}
