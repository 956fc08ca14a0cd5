package synclayer_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/bus/memory"
	"github.com/hmsplatform/synclayer/synclayertest"
)

// handlerSub is a Subscriber that hands Run's handler to the test, so the
// test can call it and see exactly what Run tells the bus.
type handlerSub struct {
	once sync.Once
	got  chan func(context.Context, synclayer.Event) error
}

func newHandlerSub() *handlerSub {
	return &handlerSub{got: make(chan func(context.Context, synclayer.Event) error, 1)}
}

func (s *handlerSub) Subscribe(ctx context.Context, _ []string, h func(context.Context, synclayer.Event) error) error {
	s.once.Do(func() { s.got <- h })
	<-ctx.Done()
	return ctx.Err()
}

// runHandler starts d.Run on a handlerSub and returns its handler and a
// stop function that ends Run and waits for it.
func runHandler(t *testing.T, d *synclayer.Dispatcher) (func(context.Context, synclayer.Event) error, func()) {
	t.Helper()
	sub := newHandlerSub()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx, sub) }()
	h := <-sub.got
	return h, func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}
}

// durableLog is a MemoryLog that claims to survive restarts, standing in
// for sqlstore.NewLog in tests of the dispatcher's rules.
type durableLog struct{ *synclayer.MemoryLog }

func (durableLog) Durable() bool { return true }

// stalledListLog is a durableLog whose first List waits for release and
// then reports nothing pending, as a drain that listed just before an
// entry was held sees it.
type stalledListLog struct {
	durableLog
	listing, release chan struct{}
	once             sync.Once
}

func (l *stalledListLog) List(ctx context.Context, f synclayer.DeliveryFilter) ([]synclayer.Delivery, error) {
	first := false
	l.once.Do(func() { first = true })
	if first {
		close(l.listing)
		<-l.release
		return nil, nil
	}
	return l.durableLog.List(ctx, f)
}

// Resume pushes what was held while another drain of the connector (here
// the one Run starts with) was at work: it waits for that drain's end,
// rather than return at once with nothing pushed.
func TestResumeWaitsForADrainAtWork(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		log := &stalledListLog{durableLog: durableLog{new(synclayer.MemoryLog)}, listing: make(chan struct{}), release: make(chan struct{})}
		reg, fakes := newFakes(t, 1)
		d := synclayertest.NewDispatcher(t, reg, synclayer.WithObserver(synclayer.NoObserver), synclayer.WithDeliveryLog(log))
		h, stop := runHandler(t, d)
		defer stop()
		<-log.listing // Run's drain has listed: nothing pending yet
		must(t, d.Pause("p0"))
		if err := h(t.Context(), event("e1", "K", 1)); err != nil {
			t.Fatalf("handler = %v, want an ack of the held route", err)
		}
		resumed := make(chan error, 1)
		go func() {
			_, err := d.Resume(t.Context(), "p0")
			resumed <- err
		}()
		synctest.Wait() // Resume waits for its turn, or has returned
		close(log.release)
		if err := <-resumed; err != nil {
			t.Fatal(err)
		}
		if rec, ok := fakes[0].Record("K"); !ok || rec.Version != 1 {
			t.Fatalf("after Resume the partner holds %+v, %v; want K at version 1", rec, ok)
		}
	})
}

// A held route is acknowledged on the bus only when its pending entry is in
// a durable log; with the memory log the handler asks for a redelivery, and
// does not count it as a failure.
func TestHeldRouteIsAckedOnlyWithADurableLog(t *testing.T) {
	for _, tc := range []struct {
		name    string
		log     synclayer.DeliveryLog
		wantAck bool
	}{
		{"memory log", new(synclayer.MemoryLog), false},
		{"durable log", durableLog{new(synclayer.MemoryLog)}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg, fakes := newFakes(t, 1)
			d := synclayertest.NewDispatcher(t, reg, synclayer.WithObserver(synclayer.NoObserver), synclayer.WithDeliveryLog(tc.log))
			h, stop := runHandler(t, d)
			defer stop()
			must(t, d.Pause("p0"))
			err := h(t.Context(), event("e1", "K", 1))
			if tc.wantAck {
				if err != nil {
					t.Fatalf("handler = %v, want an ack: the pending entry survives a restart", err)
				}
			} else {
				after, ok := synclayer.RedeliverAfter(err)
				if !ok || !strings.Contains(err.Error(), "connector held: paused or circuit open") || synclayer.IsPermanent(err) || after <= 0 {
					t.Fatalf("handler = %v (redeliver %v, %v), want a delayed redelivery of a held route", err, after, ok)
				}
			}
			if got, _ := d.Deliveries(t.Context(), synclayer.DeliveryFilter{States: []synclayer.Status{synclayer.StatusPending}}); len(got) != 1 {
				t.Fatalf("%d pending entries, want 1", len(got))
			}
			if _, err := d.Resume(t.Context(), "p0"); err != nil {
				t.Fatal(err)
			}
			if rec, ok := fakes[0].Record("K"); !ok || rec.Version != 1 {
				t.Fatalf("after resume the partner holds %+v, %v", rec, ok)
			}
			// The bus's redelivery after the resume pushes nothing again.
			if err := h(t.Context(), event("e1", "K", 1)); err != nil || fakes[0].CallCount() != 1 {
				t.Fatalf("redelivery after resume: %v, %d calls; want an ack and 1 call", err, fakes[0].CallCount())
			}
		})
	}
}

// The reproduction of a lost hold: a memory log of 5 entries, Pause, 10
// events, Resume. The log keeps 5 pending entries and refuses the rest,
// which stay on the bus; after Resume all 10 reach the partner, once each.
func TestSmallMemoryLogLosesNoHeldRoute(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reg, fakes := newFakes(t, 1)
		bus, err := memory.New()
		if err != nil {
			t.Fatal(err)
		}
		d := synclayertest.NewDispatcher(t, reg, synclayer.WithObserver(synclayer.NoObserver), synclayer.WithDeliveryLog(&synclayer.MemoryLog{MaxEntries: 5}))
		must(t, d.Pause("p0"))
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- d.Run(ctx, bus) }()
		for i := range 10 {
			if err := bus.Publish(ctx, event(fmt.Sprint("e", i), fmt.Sprint("K", i), 1)); err != nil {
				t.Fatal(err)
			}
		}
		synctest.Wait()
		if n := fakes[0].CallCount(); n != 0 {
			t.Fatalf("paused partner called %d times", n)
		}
		if _, err := d.Resume(ctx, "p0"); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Minute) // the bus redelivers what it kept
		synctest.Wait()
		if n := len(fakes[0].Records()); n != 10 {
			t.Fatalf("partner holds %d records, want all 10", n)
		}
		if n := fakes[0].CallCount(); n != 10 {
			t.Fatalf("partner called %d times, want 10 (no duplicate)", n)
		}
		if dl := bus.DeadLetters(); len(dl) != 0 {
			t.Fatalf("%d dead letters, want none: a held event is not a failure", len(dl))
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		must(t, bus.Close(context.Background()))
	})
}

// A restart with a durable log: the routes held before it are pushed when
// Run starts again, without Resume, and only once.
func TestRunPushesPendingRoutesOfADurableLogAtStart(t *testing.T) {
	reg, fakes := newFakes(t, 1)
	log := durableLog{new(synclayer.MemoryLog)}
	store := new(synclayer.MemoryStore)
	first := synclayertest.NewDispatcher(t, reg, synclayer.WithObserver(synclayer.NoObserver), synclayer.WithDeliveryLog(log), synclayer.WithStore(store))
	must(t, first.Pause("p0"))
	for i := range 3 {
		if rep, err := first.Dispatch(t.Context(), event(fmt.Sprint("e", i), "K", int64(i+1))); err != nil || rep.Results[0].Status != synclayer.StatusPending {
			t.Fatalf("dispatch while paused: %v, %v", statuses(rep), err)
		}
	}
	// "Restart": a new dispatcher on the same log and store, not paused.
	second := synclayertest.NewDispatcher(t, reg, synclayer.WithObserver(synclayer.NoObserver), synclayer.WithDeliveryLog(log), synclayer.WithStore(store))
	_, stop := runHandler(t, second)
	// Three calls started, then none in flight: the third has returned.
	// Stopping Run sooner would cancel the drain's push of e2 under way.
	if err := fakes[0].WaitCalls(t.Context(), 3); err != nil {
		t.Fatal(err)
	}
	if err := fakes[0].WaitInFlight(t.Context(), 0); err != nil {
		t.Fatal(err)
	}
	stop()
	if rec, _ := fakes[0].Record("K"); rec.Version != 3 || fakes[0].CallCount() != 3 {
		t.Fatalf("partner holds v%d after %d calls, want v3 after 3", rec.Version, fakes[0].CallCount())
	}
	if got, _ := log.List(t.Context(), synclayer.DeliveryFilter{States: []synclayer.Status{synclayer.StatusPending}}); len(got) != 0 {
		t.Fatalf("%d entries still pending", len(got))
	}
}
