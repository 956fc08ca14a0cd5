package bustest

import (
	"context"
	"testing"
	"time"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/synclayertest"
)

// LongHandlerKept checks that a handler running for hold, longer than the
// time after which the broker hands an unacknowledged event to another
// consumer, keeps its event: two subscribers of b stay up until the call
// has returned and settled reports the event acknowledged, and no second
// call starts meanwhile.
func LongHandlerKept(t *testing.T, b Bus, hold time.Duration, settled func(context.Context) bool) {
	ctx := synclayertest.Within(t, 30*time.Second)
	calls := make(chan string, 10)
	finished := make(chan struct{}, 10)
	h := func(_ context.Context, ev synclayer.Event) error {
		calls <- ev.ID
		time.Sleep(hold) // the long work the broker must wait for
		finished <- struct{}{}
		return nil
	}
	stops := []func() error{Subscribe(t, b, []string{"Order"}, h), Subscribe(t, b, []string{"Order"}, h)}
	publishAndWait(ctx, t, b, "slow", calls, "event not delivered")
	Wait(ctx, t, finished, "the handler call never returned")
	Eventually(ctx, t, func() bool { return settled(ctx) }, "the event was never acknowledged")
	for _, stop := range stops {
		if err := stop(); err != nil {
			t.Errorf("Subscribe: %v", err)
		}
	}
	if n := len(calls); n != 0 {
		t.Errorf("the event was handled %d more time(s): handed to another consumer while its handler ran", n)
	}
}
