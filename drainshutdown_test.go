package synclayer_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/synclayertest"
)

// Rule 7 for a background drain: when Run stops while a drain pushes a
// pending entry, that push is let finish within the drain timeout, as a
// dispatch in flight is, and its entry is recorded synced; the drain takes
// no further entry, which stays pending for the next Run. Cutting the push
// short would leave its entry pending, for the next Run to push again
// what the partner may already hold. Past the drain timeout the push is
// cancelled, whether Run stopped because its context ended or because
// its bus failed.
func TestRunLetsADrainPushUnderWayFinish(t *testing.T) {
	const drainTimeout = 5 * time.Second // within the attempt timeout
	for _, tc := range []struct {
		name string
		// stop makes Run stop: its context ends, or its bus fails.
		stop func(cancel context.CancelFunc, sub *failingSub)
		// release lets the push through; false leaves it waiting.
		release bool
		wantErr string // of Run
	}{
		{name: "context ends, push finishes", stop: func(cancel context.CancelFunc, _ *failingSub) { cancel() }, release: true},
		{name: "context ends, push outlasts the drain timeout", stop: func(cancel context.CancelFunc, _ *failingSub) { cancel() }},
		{name: "bus fails, push finishes", stop: func(_ context.CancelFunc, s *failingSub) { s.fail <- errBusDown }, release: true,
			wantErr: "synclayer: Run: bus down"},
		{name: "bus fails, push outlasts the drain timeout", stop: func(_ context.CancelFunc, s *failingSub) { s.fail <- errBusDown },
			wantErr: "synclayer: Run: bus down"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				reg, fake, shared := heldByAnEarlierProcess(t, "e1", "K1", "e2", "K2")

				// The next process drains them at the start of its Run, K1
				// first; that push waits at the gate while Run stops.
				gate := make(chan struct{})
				open := sync.OnceFunc(func() { close(gate) })
				fake.Inject(synclayertest.Fault{Key: "K1", Wait: gate})
				next := synclayertest.NewDispatcher(t, reg, append(shared, synclayer.WithDrainTimeout(drainTimeout))...)
				ctx, cancel := context.WithCancel(t.Context())
				sub := &failingSub{fail: make(chan error, 1)}
				var runErr error
				runDone := make(chan struct{})
				go func() { runErr = next.Run(ctx, sub); close(runDone) }()
				defer func() { cancel(); open(); <-runDone }() // on a failure too
				synctest.Wait()
				if n := fake.CallCount(); n != 1 {
					t.Fatalf("at the start drain: %d calls started (%v), want e1's push alone, under way", n, fake.Calls())
				}

				tc.stop(cancel, sub)
				synctest.Wait()
				select {
				case <-runDone:
					t.Fatalf("Run returned (%v) while its drain's push was under way, well within the drain timeout; calls %v",
						runErr, fake.Calls())
				default:
				}
				if tc.release {
					open()
				} else {
					time.Sleep(drainTimeout)
				}
				<-runDone
				if got := fmt.Sprint(runErr); runErr == nil && tc.wantErr != "" || runErr != nil && got != tc.wantErr {
					t.Errorf("Run returned %v, want %q", runErr, tc.wantErr)
				}

				calls := fake.Calls()
				if len(calls) != 1 {
					t.Fatalf("calls %+v, want e1's push alone: the drain takes no entry once its Run stops", calls)
				}
				want := map[string]synclayer.Status{"e1": synclayer.StatusSynced, "e2": synclayer.StatusPending}
				if tc.release {
					if rec, ok := fake.Record("K1"); calls[0].Err != nil || !ok || rec.EventID != "e1" {
						t.Errorf("push %+v; partner holds K1 as %+v (found %v); want e1's write", calls[0], rec, ok)
					}
				} else {
					if !errors.Is(calls[0].Err, context.Canceled) {
						t.Errorf("push past the drain timeout returned %v, want it cancelled", calls[0].Err)
					}
					want["e1"] = synclayer.StatusPending // for the next Run
				}
				for id, state := range want {
					got, err := next.Deliveries(t.Context(), synclayer.DeliveryFilter{EventID: id})
					if err != nil || len(got) != 1 || got[0].State != state {
						t.Errorf("log entry of %s: %+v, %v; want it %v", id, got, err, state)
					}
				}
			})
		})
	}
}

var errBusDown = errors.New("bus down")

// failingSub is a Subscriber that consumes nothing and returns when its
// context ends, or with the first error sent on fail.
type failingSub struct{ fail chan error }

func (s *failingSub) Subscribe(ctx context.Context, _ []string, _ func(context.Context, synclayer.Event) error) error {
	select {
	case err := <-s.fail:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// heldByAnEarlierProcess holds events (pairs of ID and key, at version
// 1) in a durable log as an earlier process did: its connector paused,
// its Run acknowledged them. It returns that process's registry and fake
// partner, and the options that share its log and store with the next
// process.
func heldByAnEarlierProcess(t *testing.T, idKeys ...string) (*synclayer.Registry, *synclayertest.Fake, []synclayer.Option) {
	t.Helper()
	reg, fakes := newFakes(t, 1)
	shared := []synclayer.Option{synclayer.WithObserver(synclayer.NoObserver), synclayer.WithStore(new(synclayer.MemoryStore)),
		synclayer.WithDeliveryLog(durableLog{new(synclayer.MemoryLog)})}
	first := synclayertest.NewDispatcher(t, reg, shared...)
	must(t, first.Pause("p0"))
	h, stop := runHandler(t, first)
	defer stop()
	for i := 0; i+1 < len(idKeys); i += 2 {
		if err := h(t.Context(), event(idKeys[i], idKeys[i+1], 1)); err != nil {
			t.Fatalf("held %s in a durable log: %v, want an ack", idKeys[i], err)
		}
	}
	return reg, fakes[0], shared
}
