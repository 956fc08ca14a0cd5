package synclayer_test

import (
	"fmt"
	"iter"
	"sync"
	"testing"
	"time"

	"github.com/hmsplatform/synclayer"
)

// BenchmarkResyncVsLive pushes the same number of new records to the same
// no-op connector, in the same iteration, twice: as live traffic (eight
// goroutines calling Dispatch) and as a resync at the same concurrency with
// no rate limit. It reports both rates and resync's share of live's.
func BenchmarkResyncVsLive(b *testing.B) {
	const n, workers = 5_000, 8
	d := benchDispatcher(b, 1)
	var live, resync time.Duration
	round := 0
	for b.Loop() {
		round++
		evs := make([]synclayer.Event, 2*n)
		for i := range evs {
			evs[i] = synclayer.Event{ID: fmt.Sprintf("r%d-%d", round, i), Type: "E", Subject: fmt.Sprintf("k%d-%d", round, i)}
		}
		start := time.Now()
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				for i := w; i < n; i += workers {
					if _, err := d.Dispatch(b.Context(), evs[i]); err != nil {
						b.Error(err)
					}
				}
			})
		}
		wg.Wait()
		live += time.Since(start)

		start = time.Now()
		var src iter.Seq2[synclayer.Event, error] = func(yield func(synclayer.Event, error) bool) {
			for _, ev := range evs[n:] {
				if !yield(ev, nil) {
					return
				}
			}
		}
		p, err := d.Resync(b.Context(), src, synclayer.ResyncOptions{Rate: 1e12, Burst: n, Concurrency: workers})
		if err != nil || p.Pushed != n {
			b.Fatalf("resync: %+v, %v", p, err)
		}
		resync += time.Since(start)
	}
	events := float64(round * n)
	b.ReportMetric(events/live.Seconds(), "live-events/s")
	b.ReportMetric(events/resync.Seconds(), "resync-events/s")
	b.ReportMetric(live.Seconds()/resync.Seconds(), "resync/live")
}
