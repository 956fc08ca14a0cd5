package synclayer_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/idempotency"
	"github.com/hmsplatform/synclayer/synclayertest"
)

// announceCalls is a store across the network (a MemoryStore behind an
// interface) that keeps the calls made on announcements' claims, in order,
// with the (bubble) time of each and the token it carried or got.
type announceCalls struct {
	synclayer.Store
	mu      sync.Mutex
	calls   []announceCall
	claimed chan struct{} // closed at the first announcement claim
}

type announceCall struct {
	op, token string
	at        time.Time
}

func newAnnounceCalls() *announceCalls {
	return &announceCalls{Store: new(synclayer.MemoryStore), claimed: make(chan struct{})}
}

func (s *announceCalls) add(op string, c idempotency.Claim, token string) {
	if c.Connector != "$announce" {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if op == "claim" && len(s.calls) == 0 {
		close(s.claimed)
	}
	s.calls = append(s.calls, announceCall{op: op, token: token, at: time.Now()})
}

func (s *announceCalls) Claim(ctx context.Context, c idempotency.Claim) (idempotency.ClaimResult, error) {
	cr, err := s.Store.Claim(ctx, c)
	s.add("claim", c, cr.Token)
	return cr, err
}

func (s *announceCalls) Complete(ctx context.Context, c idempotency.Claim, token string) error {
	s.add("complete", c, token)
	return s.Store.Complete(ctx, c, token)
}

func (s *announceCalls) Release(ctx context.Context, c idempotency.Claim, token string) error {
	s.add("release", c, token)
	return s.Store.Release(ctx, c, token)
}

// ops lists the announcement calls by name.
func (s *announceCalls) ops() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, len(s.calls))
	for i, c := range s.calls {
		out[i] = c.op
	}
	return out
}

func (s *announceCalls) seen() bool {
	select {
	case <-s.claimed:
		return true
	default:
		return false
	}
}

func oneRoute(t *testing.T, c synclayer.Connector) *synclayer.Registry {
	t.Helper()
	reg := new(synclayer.Registry)
	must(t, reg.Register("p0", c, synclayer.Route("WorkflowDeployed", keyMapper), synclayer.WithRetry(fastRetry)))
	return reg
}

// The SyncCompleted claim is taken beside the routes only where it can pay
// off: under Run, with a publisher. Off the bus it is taken after the
// push; with no publisher it is never taken, so no announcement's key is
// left leased by an event that will not be announced.
func TestEarlyAnnouncementClaimOnlyUnderRunWithAPublisher(t *testing.T) {
	for _, tc := range []struct {
		name        string
		publisher   bool
		run         bool
		wantDuring  bool     // the claim is taken while the push runs
		wantOps     []string // announcement calls once the event is done
		wantPublish int
	}{
		{name: "run with publisher", publisher: true, run: true, wantDuring: true, wantOps: []string{"claim", "complete"}, wantPublish: 1},
		{name: "dispatch with publisher", publisher: true, wantOps: []string{"claim", "complete"}, wantPublish: 1},
		{name: "run without publisher", run: true, wantOps: []string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				store := newAnnounceCalls()
				during := false
				push := synclayer.ConnectorFunc(func(ctx context.Context, _ synclayer.Record) error {
					if tc.wantDuring {
						// The early claim runs on its own goroutine: give it
						// the time it needs, which in the bubble passes only
						// once it has run or will never run.
						select {
						case <-store.claimed:
						case <-time.After(time.Second):
						}
					}
					during = store.seen()
					return nil
				})
				opts := []synclayer.Option{synclayer.WithObserver(synclayer.NoObserver), synclayer.WithStore(store)}
				pub := &recordingPublisher{}
				if tc.publisher {
					opts = append(opts, synclayer.WithPublisher(pub))
				}
				d := synclayertest.NewDispatcher(t, oneRoute(t, push), opts...)
				ctx := context.Background()
				if tc.run {
					h, stop := runHandler(t, d)
					if err := h(ctx, event("e1", "K1", 1)); err != nil {
						t.Fatal(err)
					}
					// Let the done-marker written after the handler land
					// before Run ends: a Complete that Run's end cancels is
					// retried once on a detached context, which would add a
					// call this test is not about.
					synctest.Wait()
					stop()
				} else {
					if _, err := d.Dispatch(ctx, event("e1", "K1", 1)); err != nil {
						t.Fatal(err)
					}
				}
				synctest.Wait()
				if during != tc.wantDuring {
					t.Errorf("announcement claimed during the push: %v, want %v", during, tc.wantDuring)
				}
				if got := fmt.Sprint(store.ops()); got != fmt.Sprint(tc.wantOps) {
					t.Errorf("announcement calls %s, want %s", got, fmt.Sprint(tc.wantOps))
				}
				if n := len(pub.Events()); n != tc.wantPublish {
					t.Errorf("%d announcements published, want %d", n, tc.wantPublish)
				}
				// Nothing holds the announcement's key now.
				c := idempotency.Claim{Connector: "$announce", Key: "e1", EventID: synclayer.SyncCompleted + "/e1", LeaseTTL: time.Second}
				cr, err := store.Store.Claim(ctx, c)
				want := idempotency.ClaimAcquired
				if tc.publisher {
					want = idempotency.ClaimDone
				}
				if err != nil || cr.Status != want {
					t.Errorf("claim of the announcement afterwards: %v, %v; want %v", cr.Status, err, want)
				}
			})
		})
	}
}

// An early SyncCompleted claim whose push outlived half the announcement
// lease is given back and taken again before publishing, so the
// announcement is never published under a lease about to lapse; a claim
// younger than that (up to exactly half the lease) is used as it is.
func TestEarlyAnnouncementClaimRetakenAfterASlowPush(t *testing.T) {
	const ttl = 10 * time.Second
	for _, tc := range []struct {
		push    time.Duration
		wantOps []string
	}{
		{push: 0, wantOps: []string{"claim", "complete"}},
		{push: ttl / 2, wantOps: []string{"claim", "complete"}},
		{push: ttl/2 + time.Millisecond, wantOps: []string{"claim", "release", "claim", "complete"}},
		{push: 3 * ttl / 2, wantOps: []string{"claim", "release", "claim", "complete"}},
	} {
		t.Run(tc.push.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				store := newAnnounceCalls()
				push := synclayer.ConnectorFunc(func(context.Context, synclayer.Record) error {
					time.Sleep(tc.push)
					return nil
				})
				pub := &recordingPublisher{}
				reg := new(synclayer.Registry)
				must(t, reg.Register("p0", push, synclayer.Route("WorkflowDeployed", keyMapper),
					synclayer.WithRetry(fastRetry), synclayer.WithTimeout(time.Minute)))
				d := synclayertest.NewDispatcher(t, reg, synclayer.WithObserver(synclayer.NoObserver), synclayer.WithStore(store),
					synclayer.WithPublisher(pub), synclayer.WithLeaseTTL(ttl))
				h, stop := runHandler(t, d)
				if err := h(context.Background(), event("e1", "K1", 1)); err != nil {
					t.Fatal(err)
				}
				// Let the announcement's done-marker, written after the
				// handler returns, land before Run ends: a Complete that
				// Run's end cancels is retried once on a detached context
				// (settle), which would add a call this test is not about.
				synctest.Wait()
				stop()
				synctest.Wait()
				if n := len(pub.Events()); n != 1 {
					t.Fatalf("%d announcements published, want 1", n)
				}
				if got := fmt.Sprint(store.ops()); got != fmt.Sprint(tc.wantOps) {
					t.Fatalf("announcement calls %s, want %s", got, fmt.Sprint(tc.wantOps))
				}
				store.mu.Lock()
				defer store.mu.Unlock()
				calls := store.calls
				last := calls[len(calls)-1]
				taken := calls[len(calls)-2] // the claim the announcement was completed under
				if last.token != taken.token {
					t.Fatalf("completed with token %q, the lease in force is %q", last.token, taken.token)
				}
				if len(calls) == 4 {
					if calls[1].token != calls[0].token || calls[2].token == calls[0].token {
						t.Fatalf("released %q, retook %q; want the early lease %q given back and a new one",
							calls[1].token, calls[2].token, calls[0].token)
					}
				}
				if age := last.at.Sub(taken.at); age > ttl/2 {
					t.Fatalf("announcement completed under a lease %v old, over half its TTL %v", age, ttl)
				}
			})
		})
	}
}
