package synclayer

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// watchedCtx is a context that counts the context.AfterFunc registrations
// on it that are neither stopped nor run.
type watchedCtx struct {
	mu    sync.Mutex
	done  chan struct{}
	err   error
	funcs map[int]func()
	next  int
}

func newWatchedCtx() *watchedCtx {
	return &watchedCtx{done: make(chan struct{}), funcs: map[int]func(){}}
}

func (c *watchedCtx) Deadline() (time.Time, bool) { return time.Time{}, false }
func (c *watchedCtx) Done() <-chan struct{}       { return c.done }
func (c *watchedCtx) Value(any) any               { return nil }

func (c *watchedCtx) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// AfterFunc is what context.AfterFunc calls on a context that has it.
func (c *watchedCtx) AfterFunc(f func()) func() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	id := c.next
	c.next++
	c.funcs[id] = f
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		_, ok := c.funcs[id]
		delete(c.funcs, id)
		return ok
	}
}

func (c *watchedCtx) cancel() {
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return
	}
	c.err = context.Canceled
	close(c.done)
	funcs := c.funcs
	c.funcs = nil
	c.mu.Unlock()
	for _, f := range funcs {
		go f()
	}
}

// live is how many registrations are neither stopped nor run yet.
func (c *watchedCtx) live() (n int) {
	c.mu.Lock()
	n = len(c.funcs)
	c.mu.Unlock()
	return n
}

// A delayed background job watches its Run's end only until it runs: a
// Run that schedules many drains over its life does not keep one watch
// per drain until it ends.
func TestBackgroundWatchEndsWithTheJob(t *testing.T) {
	d := new(Dispatcher)
	c := newWatchedCtx()
	l := d.startLife(c, c)
	const jobs = 50
	ran := make(chan struct{}, jobs)
	for range jobs {
		d.background(t.Context(), time.Millisecond, func(context.Context) { ran <- struct{}{} })
	}
	for range jobs {
		<-ran
	}
	if n := c.live(); n != 0 {
		t.Errorf("%d watches on the Run's context left after %d jobs ran, want 0", n, jobs)
	}
	d.endLife(l, c.cancel, c.cancel)
}

// A job scheduled by a job of a Run that has ended is dropped, but work
// that must finish still runs; a job scheduled with no Run in progress (a
// Dispatch alone) runs on a context that does not end with the caller's.
func TestBackgroundBelongsToItsRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d := new(Dispatcher)
		ctx, cancel := context.WithCancel(t.Context())
		l := d.startLife(ctx, ctx)
		var ran []string
		var mu sync.Mutex
		note := func(s string) {
			mu.Lock()
			defer mu.Unlock()
			ran = append(ran, s)
		}
		release := make(chan struct{})
		d.background(t.Context(), 0, func(ctx context.Context) {
			<-ctx.Done() // the Run ends while its job is at work
			<-release
			d.background(ctx, 0, func(context.Context) { note("drain of an ended Run") })
			d.finishLater(ctx, func(context.Context) { note("settle of an ended Run") })
		})
		synctest.Wait()
		ended := make(chan struct{})
		go func() { d.endLife(l, cancel, cancel); close(ended) }()
		synctest.Wait()
		close(release)
		<-ended
		mu.Lock()
		if want := []string{"settle of an ended Run"}; !slices.Equal(ran, want) {
			t.Errorf("when the Run returned, its jobs had run %q, want %q", ran, want)
		}
		ran = nil
		mu.Unlock()

		dctx, dcancel := context.WithCancel(t.Context())
		d.background(dctx, time.Second, func(ctx context.Context) { note("Dispatch's drain: " + fmt.Sprint(ctx.Err())) })
		dcancel()
		time.Sleep(time.Second)
		synctest.Wait()
		mu.Lock()
		defer mu.Unlock()
		if want := []string{"Dispatch's drain: <nil>"}; !slices.Equal(ran, want) {
			t.Errorf("with no Run, jobs ran %q, want %q", ran, want)
		}
	})
}
