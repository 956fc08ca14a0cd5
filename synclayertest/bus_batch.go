package synclayertest

import (
	"context"
	"sync"
	"testing"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/bus"
)

// busBatchSize is how many events the PublishBatch rule sends in one call.
const busBatchSize = 20

func testPublishBatch(t *testing.T, r *busRun) {
	bp, ok := r.fx.Bus.(bus.BatchPublisher)
	if !ok {
		t.Skip("the bus does not implement bus.BatchPublisher")
	}
	var mu sync.Mutex
	got := map[string]synclayer.Event{}
	calls := map[string]int{}
	r.subscribe("a", true, func(_ context.Context, ev synclayer.Event) error {
		mu.Lock()
		defer mu.Unlock()
		got[ev.ID] = ev
		calls[ev.ID]++
		return nil
	})
	want := make([]synclayer.Event, busBatchSize)
	for i := range want {
		want[i] = r.event(busEventType)
	}
	if err := bp.PublishBatch(r.ctx, want); err != nil {
		t.Fatalf("PublishBatch of %d events: %v", len(want), err)
	}
	r.waitFor("the batch's events", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got) >= len(want)
	})
	r.settle()
	mu.Lock()
	defer mu.Unlock()
	for _, w := range want {
		g, ok := got[w.ID]
		switch {
		case !ok:
			t.Errorf("event %s of the batch not received", w.ID)
		case calls[w.ID] != 1:
			t.Errorf("event %s of the batch delivered %d times, want once", w.ID, calls[w.ID])
		default:
			if d := eventDiff(w, g); d != "" {
				t.Errorf("event %s changed on the way: %s", w.ID, d)
			}
		}
	}
	if len(got) != len(want) {
		t.Errorf("received %d events, want %d: %v", len(got), len(want), slicesOfKeys(got))
	}
	if err := bp.PublishBatch(r.ctx, nil); err != nil {
		t.Errorf("PublishBatch of no events = %v, want nil", err)
	}
}
