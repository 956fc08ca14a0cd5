package synclayer_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/synclayertest"
)

// Rule 1, for every place of the slow routes: Dispatch runs the routes it
// offered itself when no worker has taken them yet, and that must never
// leave a route waiting behind a held one of its event, whichever routes
// are held (two held at once need a second worker: the first one woken
// wakes it). Each case runs many events, so that both ways a route can
// be run (on Dispatch's goroutine, or on a worker) come up.
func TestDispatchNoRouteWaitsForAHeldOne(t *testing.T) {
	for _, held := range [][]int{{0}, {1}, {2}, {0, 1}, {0, 2}, {1, 2}} {
		t.Run(fmt.Sprintf("held=%v", held), func(t *testing.T) {
			d, fakes := newFakeDispatcher(t, 3)
			ctx := synclayertest.Within(t, 10*time.Second)
			for i := range 50 {
				var releases []func()
				for _, h := range held {
					releases = append(releases, fakes[h].Hold())
				}
				key := fmt.Sprintf("WF-%d", i)
				done := make(chan synclayer.Report, 1)
				go func() {
					rep, _ := d.Dispatch(ctx, event(fmt.Sprint("e", i), key, 0))
					done <- rep
				}()
				for j, f := range fakes {
					if slices.Contains(held, j) {
						continue
					}
					if err := f.WaitCalls(ctx, i+1); err != nil {
						t.Fatalf("event %d: p%d while %v are held: %v", i, j, held, err)
					}
					if err := f.WaitInFlight(ctx, 0); err != nil {
						t.Fatal(err)
					}
					if _, ok := f.Record(key); !ok {
						t.Fatalf("event %d: p%d has no record of %s while %v are held", i, j, key, held)
					}
				}
				for _, release := range releases {
					release()
				}
				rep := <-done
				wantStatuses(t, fmt.Sprint("event ", i), rep, "p0:synced", "p1:synced", "p2:synced")
			}
		})
	}
}
