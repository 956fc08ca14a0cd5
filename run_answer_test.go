package synclayer_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/idempotency"
	"github.com/hmsplatform/synclayer/synclayertest"
)

// claimTrouble is a MemoryStore whose claims for connector down fail, and
// for connector busy find the key leased by another process.
type claimTrouble struct {
	*synclayer.MemoryStore
	down, busy string
}

func (s claimTrouble) Claim(ctx context.Context, c idempotency.Claim) (idempotency.ClaimResult, error) {
	switch c.Connector {
	case s.down:
		return idempotency.ClaimResult{}, errors.New("store down")
	case s.busy:
		return idempotency.ClaimResult{Status: idempotency.ClaimBusy, Expires: time.Now().Add(time.Minute)}, nil
	}
	return s.MemoryStore.Claim(ctx, c)
}

// The answer Run's handler gives the bus when an event's routes end
// differently: any route still to do makes the event come again, and a
// sibling that failed for good neither dead-letters it nor shows in the
// answer; a failure still to retry is counted even beside a busy route.
// (A route that used up its retry policy has failed for good.)
func TestRunAnswerWithRoutesLeftToDo(t *testing.T) {
	rejected := synclayertest.Fault{Err: synclayer.Permanent(errors.New("partner says no")), Times: -1}
	for _, tc := range []struct {
		name        string
		setup       func(t *testing.T, d **synclayer.Dispatcher, fakes []*synclayertest.Fake)
		opts        []synclayer.Option
		redeliver   bool   // an uncounted redelivery; otherwise a counted failure
		want, wantN string // the answer's text has want and not wantN
	}{{
		name: "held in the memory log beside a permanent failure",
		setup: func(t *testing.T, d **synclayer.Dispatcher, fakes []*synclayertest.Fake) {
			if err := (*d).Pause("p0"); err != nil {
				t.Fatal(err)
			}
			fakes[1].Inject(rejected)
		},
		redeliver: true, want: `connector "p0"`, wantN: "partner says no",
	}, {
		name:  "store failure beside a permanent failure",
		opts:  []synclayer.Option{synclayer.WithStore(claimTrouble{MemoryStore: new(synclayer.MemoryStore), down: "p0"})},
		setup: func(_ *testing.T, _ **synclayer.Dispatcher, fakes []*synclayertest.Fake) { fakes[1].Inject(rejected) },
		want:  "store down", wantN: "partner says no",
	}, {
		name:  "busy key beside a failure to retry",
		opts:  []synclayer.Option{synclayer.WithStore(claimTrouble{MemoryStore: new(synclayer.MemoryStore), down: "p1", busy: "p0"})},
		setup: func(*testing.T, **synclayer.Dispatcher, []*synclayertest.Fake) {},
		want:  "store down", wantN: "lease runs until",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			reg, fakes := newFakes(t, 2)
			d := synclayertest.NewDispatcher(t, reg, append([]synclayer.Option{synclayer.WithObserver(synclayer.NoObserver)}, tc.opts...)...)
			tc.setup(t, &d, fakes)
			h, stop := runHandler(t, d)
			defer stop()
			err := h(context.Background(), event("e1", "K", 1))
			_, redeliver := synclayer.RedeliverAfter(err)
			switch {
			case err == nil || synclayer.IsPermanent(err):
				t.Fatalf("answer %v (permanent %t), want the event back", err, synclayer.IsPermanent(err))
			case redeliver != tc.redeliver:
				t.Errorf("answer %q: uncounted redelivery %t, want %t", err, redeliver, tc.redeliver)
			case !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), tc.wantN):
				t.Errorf("answer %q, want it to name %q and not %q", err, tc.want, tc.wantN)
			}
		})
	}
}

// A SyncFailed that could not be published comes again with its event,
// as Run's doc says of an announcement not published, although a route
// failed for good; the event with nothing left to do is dead-lettered.
func TestRunAnswerRetriesAnUnpublishedSyncFailed(t *testing.T) {
	reg, fakes := newFakes(t, 1)
	pub := &recordingPublisher{failing: errors.New("broker down")}
	d := synclayertest.NewDispatcher(t, reg, synclayer.WithObserver(synclayer.NoObserver), synclayer.WithPublisher(pub))
	fakes[0].Inject(synclayertest.Fault{Err: synclayer.Permanent(errors.New("rejected")), Times: -1})
	h, stop := runHandler(t, d)
	defer stop()
	err := h(context.Background(), event("e1", "K", 1))
	if err == nil || synclayer.IsPermanent(err) || !strings.Contains(err.Error(), "broker down") {
		t.Fatalf("answer %v (permanent %t), want a retry naming the publish failure", err, synclayer.IsPermanent(err))
	}
	pub.mu.Lock()
	pub.failing = nil
	pub.mu.Unlock()
	if err := h(context.Background(), event("e1", "K", 1)); !synclayer.IsPermanent(err) || !strings.Contains(err.Error(), "rejected") {
		t.Fatalf("answer once published %v, want the permanent failure", err)
	}
	if evs := pub.Events(); len(evs) != 1 || evs[0].Type != synclayer.SyncFailed {
		t.Fatalf("announcements %v, want one SyncFailed", evs)
	}
}

// A push that Run cuts short as it stops (past its drain timeout) did not
// fail: its event comes again uncounted, so that a shutdown on the last
// delivery the bus allows does not dead-letter it.
func TestRunAnswerForWorkCutShortIsUncounted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reg, fakes := newFakes(t, 1)
		d := synclayertest.NewDispatcher(t, reg, synclayer.WithObserver(synclayer.NoObserver), synclayer.WithDrainTimeout(time.Second))
		release := fakes[0].Hold() // the push waits until its ctx ends
		defer release()
		h, stop := runHandler(t, d)
		answer := make(chan error, 1)
		go func() { answer <- h(context.Background(), event("e1", "K", 1)) }()
		synctest.Wait()
		stop() // Run stops; after a second it cancels the push
		err := <-answer
		if _, ok := synclayer.RedeliverAfter(err); !ok || synclayer.IsPermanent(err) || !errors.Is(err, context.Canceled) {
			t.Fatalf("answer %v, want an uncounted redelivery of the cancelled push", err)
		}
	})
}
