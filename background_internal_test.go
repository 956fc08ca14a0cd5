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

// A job scheduled by a job of a Run that has ended is dropped, but work
// that must finish still runs; a job scheduled with no Run in progress (a
// Dispatch alone) runs on a context that does not end with the caller's.
func TestBackgroundBelongsToItsRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d := new(Dispatcher)
		ctx, cancel := context.WithCancel(t.Context())
		l := d.startLife(ctx)
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
		go func() { d.endLife(l, cancel); close(ended) }()
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
