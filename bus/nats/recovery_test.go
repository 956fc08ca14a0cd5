package nats_test

import (
	"context"
	"testing"
	"time"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/bus/nats"
	"github.com/hmsplatform/synclayer/synclayertest"
)

// With the default settings, the message held by a subscriber whose
// connection dies (as when its process is killed) is delivered to another
// subscriber of the group after the ack wait. The test logs how long that
// took.
func TestDeadSubscriberRecoveredWithDefaults(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the default ack wait")
	}
	nc := connect(t)
	doomed := connect(t)
	stream := uniqueName(t)
	survivor := newBus(t, nc, stream)
	dying, err := nats.NewBus(context.Background(), doomed, stream)
	if err != nil {
		t.Fatal(err)
	}
	ctx := synclayertest.Within(t, 60*time.Second)

	held := make(chan struct{}, 1)
	release := make(chan struct{})
	subscribeUntilCleanup(t, dying, func(context.Context, synclayer.Event) error {
		held <- struct{}{}
		<-release
		return nil
	})
	defer close(release)
	if err := survivor.Publish(ctx, synclayer.Event{ID: "held", Type: "Order"}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-held:
	case <-ctx.Done():
		t.Fatal("the first subscriber never received the event")
	}
	got := make(chan string, 1)
	subscribeUntilCleanup(t, survivor, func(_ context.Context, ev synclayer.Event) error {
		got <- ev.ID
		return nil
	})
	doomed.Close() // the first subscriber can no longer reach NATS
	died := time.Now()
	select {
	case id := <-got:
		if id != "held" {
			t.Errorf("survivor got %q, want the held event", id)
		}
		t.Logf("redelivered %v after the first subscriber lost NATS", time.Since(died).Round(100*time.Millisecond))
	case <-ctx.Done():
		t.Fatal("the held event was never delivered to the surviving subscriber")
	}
}

// subscribeUntilCleanup runs Subscribe for "Order" until the test ends.
func subscribeUntilCleanup(t *testing.T, b *nats.Bus, h func(context.Context, synclayer.Event) error) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Subscribe(ctx, []string{"Order"}, h) }()
	t.Cleanup(func() { cancel(); <-done })
}
