package bench_test

import (
	"testing"
)

// TestHarness runs the benchmark's harness on a small run without a
// broker, so that plain go test proves it counts right: every event
// acknowledged once, pushed once, announced once, nothing left on the bus.
func TestHarness(t *testing.T) {
	const n = 600
	for _, st := range []storeKind{memoryStore, sqliteStore} {
		t.Run(st.name, func(t *testing.T) {
			run := runName()
			fx := memoryBroker.open(t, run)
			store := st.open(t, run)
			publishAll(t, fx.bus, run, n)
			out := runDispatcher(t, fx.bus, fx.bus, store, logObserver, n)
			if out.pushes != n {
				t.Errorf("%d pushes, want %d", out.pushes, n)
			}
			if out.elapsed <= 0 {
				t.Errorf("elapsed %v", out.elapsed)
			}
			fx.settled(t, n)
		})
	}
}

// TestEventIndex checks that event IDs map back to their numbers, which
// the acknowledgement count relies on.
func TestEventIndex(t *testing.T) {
	for _, i := range []int{0, 7, benchEvents - 1} {
		if got := eventIndex(eventOf("bench_12_3", i).ID); got != i {
			t.Errorf("eventIndex(eventOf(%d)) = %d", i, got)
		}
	}
	if got := eventIndex("no-number-x"); got != -1 {
		t.Errorf("eventIndex of a foreign ID = %d, want -1", got)
	}
}
