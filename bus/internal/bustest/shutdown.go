package bustest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/synclayertest"
)

// errStopped is what the handlers of [InterruptedHandedBack] return once
// their context ended.
var errStopped = errors.New("bustest: handler stopped")

// InterruptedHandedBack checks the Subscriber contract's rule for a
// handler call that has not returned when its subscriber stops: if it then
// fails, its event is redelivered, and that delivery does not count toward
// dead-lettering. fx's bus must allow one delivery (WithMaxDeliveries(1)),
// so the interrupted delivery is the event's last one.
//
// A subscriber's handler holds the event "interrupted" until its context
// ends, then returns that context's error; once Subscribe has returned, no
// dead letter may hold the event, and a new subscriber must receive it. A
// handler interrupted in the same way that returns a permanent error gets
// its event dead-lettered at once, with one delivery and its reason.
func InterruptedHandedBack(t *testing.T, fx synclayertest.BusFixture) {
	ctx := synclayertest.Within(t, 30*time.Second)
	interrupted, doomed := "interrupted", "doomed"
	held := make(chan string, 1)
	hold := func(ctx context.Context, ev synclayer.Event) error {
		held <- ev.ID
		<-ctx.Done()
		return fmt.Errorf("%w on %q: %w", errStopped, ev.ID, ctx.Err())
	}
	stop := subscribeWarm(ctx, t, fx.Bus, func(ctx context.Context, ev synclayer.Event) error {
		if ev.ID == interrupted {
			return hold(ctx, ev)
		}
		return nil
	})
	publishAndWait(ctx, t, fx.Bus, interrupted, held, "the event was never delivered")
	if err := stop(); err != nil {
		t.Errorf("Subscribe: %v", err)
	}
	noLetterFor(ctx, t, fx, interrupted)

	again := make(chan string, 10)
	stop = Subscribe(t, fx.Bus, []string{"Order"}, func(ctx context.Context, ev synclayer.Event) error {
		switch ev.ID {
		case interrupted:
			again <- ev.ID
		case doomed:
			return synclayer.Permanent(hold(ctx, ev))
		}
		return nil
	})
	Wait(ctx, t, again, "the event whose handler was interrupted was not redelivered to the next subscriber")
	publishAndWait(ctx, t, fx.Bus, doomed, held, "the second event was never delivered")
	if err := stop(); err != nil {
		t.Errorf("Subscribe: %v", err)
	}
	var letter synclayertest.DeadLetter
	Eventually(ctx, t, func() bool {
		dls, err := fx.DeadLetters(ctx)
		if err != nil {
			t.Fatalf("dead letters: %v", err)
		}
		for _, dl := range dls {
			if dl.Event.ID == doomed {
				letter = dl
				return true
			}
		}
		return false
	}, "the interrupted event whose handler returned a permanent error was not dead-lettered")
	if letter.Deliveries != 1 || !strings.Contains(letter.Err, errStopped.Error()) {
		t.Errorf("dead letter of the permanent failure: deliveries %d, reason %q; want 1 and the handler's error", letter.Deliveries, letter.Err)
	}
	noLetterFor(ctx, t, fx, interrupted)
}

// noLetterFor checks that no dead letter of fx holds the event id.
func noLetterFor(ctx context.Context, t testing.TB, fx synclayertest.BusFixture, id string) {
	t.Helper()
	dls, err := fx.DeadLetters(ctx)
	if err != nil {
		t.Fatalf("dead letters: %v", err)
	}
	for _, dl := range dls {
		if dl.Event.ID == id {
			t.Fatalf("event %q, whose handler call was cut short by shutdown, was dead-lettered after %d deliveries: %s", id, dl.Deliveries, dl.Err)
		}
	}
}

// subscribeWarm runs Subscribe to "Order" on b in the background, as
// [Subscribe] does, and returns once it receives events: it publishes
// warm-up events, which the handler acknowledges without passing them to
// h, until one arrives, so that brokers keeping events only for existing
// queues or groups lose none published after it returns.
func subscribeWarm(ctx context.Context, t testing.TB, b synclayertest.Bus, h func(context.Context, synclayer.Event) error) (stop func() error) {
	t.Helper()
	warm := make(chan struct{}, 1)
	stop = Subscribe(t, b, []string{"Order"}, func(ctx context.Context, ev synclayer.Event) error {
		if strings.HasPrefix(ev.ID, "warm-up-") {
			select {
			case warm <- struct{}{}:
			default:
			}
			return nil
		}
		return h(ctx, ev)
	})
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for i := 0; ; i++ {
		if err := b.Publish(ctx, synclayer.Event{ID: fmt.Sprintf("warm-up-%d", i), Type: "Order"}); err != nil {
			t.Fatalf("publish warm-up event: %v", err)
		}
		select {
		case <-warm:
			return stop
		case <-tick.C:
		case <-ctx.Done():
			t.Fatal("the subscriber never received a warm-up event")
		}
	}
}

// CloseInterruptedHandedBack checks the same rule as [InterruptedHandedBack]
// for a handler cut short by Close giving up waiting for it: closing and
// next's bus are two buses of one group that allow one delivery each. A
// subscriber of closing holds the event "interrupted" until its handler's
// context ends, which Close with an ended context does at once; then the
// handler returns that context's error. No dead letter may hold the event,
// and a subscriber of next must receive it.
func CloseInterruptedHandedBack(t *testing.T, closing Bus, next synclayertest.BusFixture) {
	ctx := synclayertest.Within(t, 30*time.Second)
	interrupted := "interrupted"
	held := make(chan string, 1)
	stop := subscribeWarm(ctx, t, closing, func(ctx context.Context, ev synclayer.Event) error {
		if ev.ID != interrupted {
			return nil
		}
		held <- ev.ID
		<-ctx.Done()
		return fmt.Errorf("%w on %q: %w", errStopped, ev.ID, ctx.Err())
	})
	publishAndWait(ctx, t, closing, interrupted, held, "the event was never delivered")
	ended, cancel := context.WithCancel(ctx)
	cancel()
	if err := closing.Close(ended); !errors.Is(err, context.Canceled) {
		t.Errorf("Close with the handler still running = %v, want an error wrapping context.Canceled", err)
	}
	if err := stop(); err != nil {
		t.Errorf("Subscribe: %v", err)
	}
	noLetterFor(ctx, t, next, interrupted)
	again := make(chan string, 10)
	Subscribe(t, next.Bus, []string{"Order"}, func(_ context.Context, ev synclayer.Event) error {
		if ev.ID == interrupted {
			again <- ev.ID
		}
		return nil
	})
	Wait(ctx, t, again, "the event whose handler Close interrupted was not redelivered to the group's next subscriber")
	noLetterFor(ctx, t, next, interrupted)
}
