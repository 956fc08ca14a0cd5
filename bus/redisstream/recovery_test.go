package redisstream_test

import (
	"context"
	"testing"
	"time"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/bus/redisstream"
	"github.com/hmsplatform/synclayer/synclayertest"
)

// With the default settings, the entry held by a subscriber whose
// connection dies (as when its process is killed) is delivered to another
// subscriber of the group once idle for the claim idle time. The test
// logs how long that took.
func TestDeadSubscriberRecoveredWithDefaults(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the default claim idle time")
	}
	rdb := client(t, "survivor")
	doomed := client(t, "doomed")
	prefix := uniquePrefix(t)
	cleanup(t, rdb, prefix)
	survivor, err := redisstream.NewBus(rdb, prefix)
	if err != nil {
		t.Fatal(err)
	}
	dying, err := redisstream.NewBus(doomed, prefix)
	if err != nil {
		t.Fatal(err)
	}
	ctx := synclayertest.Within(t, 60*time.Second)

	held := make(chan struct{}, 1)
	release := make(chan struct{})
	defer close(release)
	subscribe(t, dying, []string{"Order"}, func(context.Context, synclayer.Event) error {
		held <- struct{}{}
		<-release
		return nil
	})
	if err := survivor.Publish(ctx, synclayer.Event{ID: "held", Type: "Order"}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-held:
	case <-ctx.Done():
		t.Fatal("the first subscriber never received the event")
	}
	got := make(chan string, 1)
	subscribe(t, survivor, []string{"Order"}, func(_ context.Context, ev synclayer.Event) error {
		got <- ev.ID
		return nil
	})
	doomed.Close() // the first subscriber can no longer reach Redis
	died := time.Now()
	select {
	case id := <-got:
		if id != "held" {
			t.Errorf("survivor got %q, want the held event", id)
		}
		t.Logf("redelivered %v after the first subscriber lost Redis", time.Since(died).Round(100*time.Millisecond))
	case <-ctx.Done():
		t.Fatal("the held event was never delivered to the surviving subscriber")
	}
}
