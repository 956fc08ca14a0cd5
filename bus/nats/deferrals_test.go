package nats_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/bus/internal/bustest"
	"github.com/hmsplatform/synclayer/bus/nats"
	"github.com/hmsplatform/synclayer/synclayertest"
)

// Deferrals are counted in the stream, not in one process: an event that
// one bus deferred more times than the limit, then handed over (its
// subscriber stopped), is delivered by another bus of the group, in
// another process as far as the buses know, without being dead-lettered.
func TestDeferralsCountAcrossProcesses(t *testing.T) {
	nc := connect(t)
	stream := bustest.UniqueName(t, "nats")
	const limit = 2
	first := newBus(t, nc, stream, nats.WithMaxDeliveries(limit))
	second := openBus(t, connect(t), stream, nats.WithMaxDeliveries(limit))
	ctx := synclayertest.Within(t, 60*time.Second)
	defer_ := func(context.Context, synclayer.Event) error {
		return synclayer.Redeliver(errors.New("record key busy"), 10*time.Millisecond)
	}

	deferred := make(chan struct{}, 100)
	stop := bustest.Subscribe(t, first, []string{"Order"}, func(ctx context.Context, ev synclayer.Event) error {
		deferred <- struct{}{}
		return defer_(ctx, ev)
	})
	if err := first.Publish(ctx, synclayer.Event{ID: "busy", Type: "Order"}); err != nil {
		t.Fatal(err)
	}
	for range limit + 2 {
		bustest.Wait(ctx, t, deferred, "the first bus did not get the event again after deferring it")
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}

	got := make(chan string, 10)
	stop = bustest.Subscribe(t, second, []string{"Order"}, func(_ context.Context, ev synclayer.Event) error {
		got <- ev.ID
		return nil
	})
	select {
	case id := <-got:
		if id != "busy" {
			t.Errorf("second bus got %q, want the deferred event", id)
		}
	case <-ctx.Done():
		dls, _ := first.DeadLetters(context.Background())
		t.Fatalf("the deferred event never reached the second bus; dead letters: %+v", dls)
	}
	if err := stop(); err != nil && !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	if dls, err := first.DeadLetters(ctx); err != nil || len(dls) != 0 {
		t.Errorf("dead letters %+v, %v; want none", dls, err)
	}
}
