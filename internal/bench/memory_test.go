package bench_test

import (
	"testing"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/bus/memory"
)

// memoryBroker is bus/memory, for the stores that need no broker. Its
// backlog holds the run's events and their announcements, which nobody
// consumes.
var memoryBroker = broker{name: "memory", open: openMemory}

func openMemory(tb testing.TB, run string) *fixture {
	bus, err := memory.New(memory.WithBacklog(2*benchEvents), memory.WithConcurrency(benchHandlers))
	if err != nil {
		tb.Fatal(err)
	}
	return &fixture{bus: bus, settled: func(tb testing.TB, n int) {
		queued, inflight := bus.Pending()
		announced := 0
		for _, ev := range queued {
			if ev.Type != synclayer.SyncCompleted {
				tb.Fatalf("memory bus: event %s (%s) left over", ev.ID, ev.Type)
			}
			announced++
		}
		if inflight != 0 || announced != n {
			tb.Fatalf("memory bus: %d in flight, %d announcements, want 0 and %d", inflight, announced, n)
		}
	}}
}
