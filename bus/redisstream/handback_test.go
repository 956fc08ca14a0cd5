package redisstream_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/bus/internal/bustest"
	"github.com/hmsplatform/synclayer/bus/redisstream"
	"github.com/hmsplatform/synclayer/synclayertest"
)

// Entries a stopping subscriber had read but not handled are handed back,
// and that does not count as a delivery: with a limit of one delivery,
// another subscriber still handles every one of them.
//
// With two handler slots, the first subscriber reads [hold-0 quick-1]: it
// holds hold-0 and acknowledges quick-1; then it reads [hold-1 e-0] with
// one free slot, holds hold-1, and e-0 waits for a slot until the
// subscriber stops and hands it back. The e-* events left are read by the
// second subscriber.
func TestHandedBackEventsAreNotCounted(t *testing.T) {
	rdb := client(t, "")
	prefix := uniquePrefix(t, rdb)
	first := newBus(t, rdb, prefix, redisstream.WithMaxDeliveries(1), redisstream.WithConcurrency(2))
	second := newBus(t, rdb, prefix, redisstream.WithMaxDeliveries(1))
	ctx := synclayertest.Within(t, 60*time.Second)
	const n = 4 // e-* events
	ids := []string{"hold-0", "quick-1", "hold-1"}
	for i := range n {
		ids = append(ids, fmt.Sprint("e-", i))
	}
	for _, id := range ids {
		if err := first.Publish(ctx, synclayer.Event{ID: id, Type: "Order"}); err != nil {
			t.Fatal(err)
		}
	}
	held := make(chan string, 2)
	stop := bustest.Subscribe(t, first, []string{"Order"}, func(ctx context.Context, ev synclayer.Event) error {
		if strings.HasPrefix(ev.ID, "hold-") {
			held <- ev.ID
			<-ctx.Done() // hold the slot until the subscriber stops
		} else if ev.ID != "quick-1" {
			t.Errorf("the first subscriber handled %s; it should have handed it back", ev.ID)
		}
		return nil
	})
	for range 2 {
		bustest.Wait(ctx, t, held, "the first subscriber never held both slots")
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}

	var mu sync.Mutex
	got := map[string]bool{}
	bustest.Subscribe(t, second, []string{"Order"}, func(_ context.Context, ev synclayer.Event) error {
		mu.Lock()
		got[ev.ID] = true
		mu.Unlock()
		return nil
	})
	for {
		mu.Lock()
		k := len(got)
		mu.Unlock()
		if k == n {
			break
		}
		select {
		case <-ctx.Done():
			dls, _ := first.DeadLetters(context.Background(), 0)
			t.Fatalf("the second subscriber handled %d of the %d events left; dead letters: %+v", k, n, dls)
		case <-time.After(10 * time.Millisecond):
		}
	}
	if dls, err := first.DeadLetters(context.Background(), 0); err != nil || len(dls) != 0 {
		t.Errorf("dead letters %+v, %v; want none", dls, err)
	}
}
