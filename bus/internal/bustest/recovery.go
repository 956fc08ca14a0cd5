package bustest

import (
	"context"
	"testing"
	"time"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/synclayertest"
)

// DeadSubscriberRecovered checks that, with the default settings, the event
// held by a subscriber whose connection dies (as when its process is
// killed) is delivered to another subscriber of the group. survivor and
// dying are two buses of one group on separate connections; survivor
// publishes the event, and cut drops dying's connection for good. The test logs how long the redelivery
// took; it is skipped with -short, as it waits for the broker's default
// redelivery timeout.
func DeadSubscriberRecovered(t *testing.T, survivor, dying Bus, cut func()) {
	if testing.Short() {
		t.Skip("waits for the broker's default redelivery timeout")
	}
	ctx := synclayertest.Within(t, 60*time.Second)
	held := make(chan struct{}, 1)
	release := make(chan struct{})
	Subscribe(t, dying, []string{"Order"}, func(context.Context, synclayer.Event) error {
		held <- struct{}{}
		<-release
		return nil
	})
	// Registered after Subscribe's cleanup, so it runs first: the held
	// handler returns before that Subscribe is stopped.
	t.Cleanup(func() { close(release) })
	publishAndWait(ctx, t, survivor, "held", held, "the first subscriber never received the event")
	got := make(chan string, 1)
	Subscribe(t, survivor, []string{"Order"}, func(_ context.Context, ev synclayer.Event) error {
		got <- ev.ID
		return nil
	})
	cut() // the first subscriber can no longer reach its broker
	died := time.Now()
	select {
	case id := <-got:
		if id != "held" {
			t.Errorf("survivor got %q, want the held event", id)
		}
		t.Logf("redelivered %v after the first subscriber lost its broker", time.Since(died).Round(100*time.Millisecond))
	case <-ctx.Done():
		t.Fatal("the held event was never delivered to the surviving subscriber")
	}
}
