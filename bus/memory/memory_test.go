package memory_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/bus/internal/bustest"
	"github.com/hmsplatform/synclayer/bus/memory"
	"github.com/hmsplatform/synclayer/internal/testwait"
	"go.uber.org/goleak"
)

func ev(id string) synclayer.Event { return synclayer.Event{ID: id, Type: "T"} }

// subscribe runs Subscribe to type "T" in the background, as
// bustest.Subscribe does.
func subscribe(t *testing.T, b *memory.Bus, h func(context.Context, synclayer.Event) error) (stop func() error) {
	return bustest.Subscribe(t, b, []string{"T"}, h)
}

func TestEventsWaitForTheFirstSubscriber(t *testing.T) {
	defer goleak.VerifyNone(t)
	b := newBus(t, memory.WithBacklog(3))
	for i := range 3 {
		if err := b.Publish(t.Context(), ev(fmt.Sprint("e", i))); err != nil {
			t.Fatal(err)
		}
	}
	err := b.Publish(t.Context(), ev("e3"))
	if !errors.Is(err, memory.ErrBacklogFull) || !strings.Contains(err.Error(), `"e3"`) {
		t.Fatalf("publish over the bound = %v, want ErrBacklogFull naming the event", err)
	}
	var got sync.Map
	var n atomic.Int32
	stop := subscribe(t, b, func(_ context.Context, e synclayer.Event) error {
		got.Store(e.ID, true)
		n.Add(1)
		return nil
	})
	testwait.For(t, 10*time.Second, func() string { return fmt.Sprintf("3 deliveries, got %d", n.Load()) }, func() bool { return n.Load() == 3 })
	for i := range 3 {
		if _, ok := got.Load(fmt.Sprint("e", i)); !ok {
			t.Errorf("e%d was lost", i)
		}
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
}

func TestPublishWaitsForRoomWhileSubscribed(t *testing.T) {
	defer goleak.VerifyNone(t)
	b := newBus(t, memory.WithBacklog(1), memory.WithConcurrency(1))
	var n atomic.Int32
	stop := subscribe(t, b, func(context.Context, synclayer.Event) error { n.Add(1); return nil })
	must(t, b.Publish(t.Context(), ev("first")))
	testwait.For(t, 10*time.Second, func() string { return "the first delivery" }, func() bool { return n.Load() == 1 }) // the subscription is live
	n.Store(0)
	for i := range 100 {
		if err := b.Publish(t.Context(), ev(fmt.Sprint("e", i))); err != nil {
			t.Fatalf("publish %d: %v (it should wait for room, not fail)", i, err)
		}
	}
	testwait.For(t, 10*time.Second, func() string { return fmt.Sprintf("100 deliveries, got %d", n.Load()) }, func() bool { return n.Load() == 100 })
	must(t, stop())
	must(t, b.Close(t.Context()))
}

// An event whose handler always fails is delivered WithMaxDeliveries
// times, then dead-lettered; WithMaxDeliveries(0) means the default, 5.
func TestMaxDeliveriesThenDeadLetter(t *testing.T) {
	for _, tc := range []struct{ n, want int }{{3, 3}, {0, 5}} {
		t.Run(fmt.Sprint(tc.n), func(t *testing.T) {
			defer goleak.VerifyNone(t)
			b := newBus(t, memory.WithMaxDeliveries(tc.n), memory.WithRedeliveryDelay(time.Millisecond))
			var calls atomic.Int32
			stop := subscribe(t, b, func(context.Context, synclayer.Event) error {
				calls.Add(1)
				return errors.New("partner down")
			})
			must(t, b.Publish(t.Context(), ev("e1")))
			testwait.For(t, 10*time.Second, func() string { return fmt.Sprintf("one dead letter after %d calls", calls.Load()) },
				func() bool { return len(b.DeadLetters()) == 1 })
			must(t, stop())
			dl := b.DeadLetters()[0]
			if dl.Deliveries != tc.want || int(calls.Load()) != tc.want || dl.Err.Error() != "partner down" {
				t.Fatalf("dead letter %+v after %d calls; want %d deliveries and the last error", dl, calls.Load(), tc.want)
			}
			must(t, b.Close(t.Context()))
		})
	}
}

// Every option follows the option rule: a bad value is an error naming it.
func TestInvalidOptions(t *testing.T) {
	bustest.InvalidOptions(t, func(o memory.Option) error {
		_, err := memory.New(o)
		return err
	}, bustest.SharedOptions(memory.WithMaxDeliveries, memory.WithRedeliveryDelay, memory.WithConcurrency), map[string]memory.Option{
		"WithBacklog(-1)":        memory.WithBacklog(-1),
		"WithMaxDeadLetters(-1)": memory.WithMaxDeadLetters(-1),
	})
}

func TestPanickingHandlerIsRedelivered(t *testing.T) {
	defer goleak.VerifyNone(t)
	b := newBus(t, memory.WithRedeliveryDelay(time.Millisecond))
	var calls atomic.Int32
	stop := subscribe(t, b, func(context.Context, synclayer.Event) error {
		if calls.Add(1) == 1 {
			panic("handler bug")
		}
		return nil
	})
	must(t, b.Publish(t.Context(), ev("e1")))
	testwait.For(t, 10*time.Second, func() string { return "the redelivery after the panic" }, func() bool { return calls.Load() == 2 })
	must(t, stop())
	must(t, b.Close(t.Context()))
	if len(b.DeadLetters()) != 0 {
		t.Fatal("a recovered panic should redeliver, not dead-letter")
	}
}

func TestCloseDrainsThenRefuses(t *testing.T) {
	defer goleak.VerifyNone(t)
	b := newBus(t, memory.WithConcurrency(1))
	var n atomic.Int32
	release := make(chan struct{})
	stop := subscribe(t, b, func(context.Context, synclayer.Event) error {
		<-release
		n.Add(1)
		return nil
	})
	for i := range 5 {
		must(t, b.Publish(t.Context(), ev(fmt.Sprint("e", i))))
	}
	testwait.For(t, 10*time.Second, func() string { return "one event in flight" }, func() bool { _, inflight := b.Pending(); return inflight == 1 }) // subscribed
	closed := make(chan error, 1)
	go func() { closed <- b.Close(t.Context()) }()
	close(release)
	if err := <-closed; err != nil {
		t.Fatalf("Close = %v, want nil after draining", err)
	}
	if n.Load() != 5 {
		t.Fatalf("Close returned after %d of 5 events", n.Load())
	}
	if err := b.Publish(t.Context(), ev("late")); !errors.Is(err, memory.ErrClosed) {
		t.Fatalf("publish after Close = %v, want ErrClosed", err)
	}
	if err := stop(); !errors.Is(err, memory.ErrClosed) && err != nil {
		t.Fatal(err)
	}
}

func TestCloseReportsWhatWasLeft(t *testing.T) {
	defer goleak.VerifyNone(t)
	b := newBus(t, memory.WithConcurrency(1))
	block := make(chan struct{})
	stop := subscribe(t, b, func(ctx context.Context, _ synclayer.Event) error {
		select {
		case <-block:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	for i := range 3 {
		must(t, b.Publish(t.Context(), ev(fmt.Sprint("e", i))))
	}
	testwait.For(t, 10*time.Second, func() string { return "one event in flight" }, func() bool { _, inflight := b.Pending(); return inflight == 1 }) // subscribed
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	err := b.Close(ctx)
	if err == nil || !strings.Contains(err.Error(), "2 events undelivered and 1 in flight") || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Close = %v; want a count of what was left", err)
	}
	close(block)
	_ = stop()
	queued, inflight := b.Pending()
	if len(queued) != 2 || inflight != 0 {
		t.Fatalf("pending after close = %d queued, %d in flight; want 2 and 0", len(queued), inflight)
	}
}

func TestBadInput(t *testing.T) {
	b := newBus(t)
	if err := b.Publish(t.Context(), synclayer.Event{Type: "T"}); err == nil || !synclayer.IsPermanent(err) {
		t.Fatalf("publish without ID = %v, want a permanent error", err)
	}
	if err := b.Subscribe(t.Context(), nil, func(context.Context, synclayer.Event) error { return nil }); err == nil {
		t.Fatal("subscribe to no types should fail")
	}
	if err := b.Subscribe(t.Context(), []string{"T"}, nil); err == nil {
		t.Fatal("subscribe with a nil handler should fail")
	}
}

// newBus returns a bus with opts, failing the test if New refuses them.
func newBus(t *testing.T, opts ...memory.Option) *memory.Bus {
	t.Helper()
	b, err := memory.New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestDeadLettersAreBounded(t *testing.T) {
	defer goleak.VerifyNone(t)
	b := newBus(t, memory.WithMaxDeadLetters(3), memory.WithConcurrency(1))
	stop := subscribe(t, b, func(_ context.Context, e synclayer.Event) error {
		return synclayer.Permanent(fmt.Errorf("refused %s", e.ID))
	})
	for i := range 5 {
		must(t, b.Publish(t.Context(), ev(fmt.Sprint("e", i))))
	}
	testwait.For(t, 10*time.Second, func() string { return fmt.Sprintf("2 dropped dead letters, got %d", b.DroppedDeadLetters()) },
		func() bool { return b.DroppedDeadLetters() == 2 })
	must(t, stop())
	var ids []string
	for _, dl := range b.DeadLetters() {
		ids = append(ids, dl.Event.ID)
	}
	if strings.Join(ids, ",") != "e2,e3,e4" {
		t.Fatalf("dead letters kept %v, want the newest three e2,e3,e4", ids)
	}
	must(t, b.Close(t.Context()))
}

func TestRedeliverDoesNotCount(t *testing.T) {
	defer goleak.VerifyNone(t)
	b := newBus(t, memory.WithMaxDeliveries(2), memory.WithConcurrency(1))
	var calls atomic.Int32
	stop := subscribe(t, b, func(context.Context, synclayer.Event) error {
		if calls.Add(1) <= 5 {
			return synclayer.Redeliver(errors.New("record key busy"), time.Millisecond)
		}
		return nil
	})
	must(t, b.Publish(t.Context(), ev("e1")))
	testwait.For(t, 10*time.Second, func() string { return fmt.Sprintf("6 calls and nothing pending, got %d calls", calls.Load()) }, func() bool {
		q, inflight := b.Pending()
		return calls.Load() == 6 && len(q) == 0 && inflight == 0
	})
	must(t, stop())
	if dls := b.DeadLetters(); len(dls) != 0 {
		t.Fatalf("deferred event dead-lettered: %+v", dls)
	}
	must(t, b.Close(t.Context()))
}

// A subscription whose context has ended takes no event: the handler is
// not called (it would fail on the ended context, and each failure would
// count toward WithMaxDeliveries), and the events stay queued for the next
// subscriber.
func TestEndedContextTakesNoEvent(t *testing.T) {
	defer goleak.VerifyNone(t)
	b := newBus(t, memory.WithMaxDeliveries(1))
	for _, id := range []string{"e1", "e2", "e3"} {
		must(t, b.Publish(t.Context(), synclayer.Event{ID: id, Type: "Order"}))
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	var calls atomic.Int32
	must(t, b.Subscribe(ctx, []string{"Order"}, func(hctx context.Context, _ synclayer.Event) error {
		calls.Add(1)
		return hctx.Err()
	}))
	if calls.Load() != 0 || len(b.DeadLetters()) != 0 {
		t.Fatalf("Subscribe with an ended context called the handler %d times, %d dead letters", calls.Load(), len(b.DeadLetters()))
	}
	bustest.SameIDs(t, bustest.ReceiveAll(t.Context(), t, b, 3), "e1", "e2", "e3")
	must(t, b.Close(t.Context()))
}

// A handler cut short by its subscriber stopping, on the event's last
// allowed delivery, gets the event handed back instead of dead-lettered.
func TestInterruptedHandlerHandsBack(t *testing.T) {
	b := newBus(t, memory.WithMaxDeliveries(1))
	read := func(context.Context) ([]memory.DeadLetter, error) { return b.DeadLetters(), nil }
	letter := func(dl memory.DeadLetter) (synclayer.Event, string, int) {
		return dl.Event, dl.Err.Error(), dl.Deliveries
	}
	bustest.InterruptedHandedBack(t, bustest.Fixture(b, read, letter, nil))
	must(t, b.Close(t.Context()))
}
