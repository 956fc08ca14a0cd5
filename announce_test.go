package synclayer_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/idempotency"
	"github.com/hmsplatform/synclayer/synclayertest"
)

// Rule 5: one announcement per event, at least once with deduplication.
func TestSyncCompletedOncePerEvent(t *testing.T) {
	reg, _ := newFakes(t, 2)
	pub := &recordingPublisher{}
	d := synclayertest.NewDispatcher(t, reg, synclayer.WithObserver(synclayer.NoObserver), synclayer.WithPublisher(pub), synclayer.WithSource("test"))
	ev := event("e1", "WF-1", 1)
	ev.Meta = map[string]string{"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}
	for range 3 {
		if _, err := d.Dispatch(t.Context(), ev); err != nil {
			t.Fatal(err)
		}
	}
	got := pub.Events()
	if len(got) != 1 {
		t.Fatalf("published %d announcements, want 1", len(got))
	}
	a := got[0]
	if a.Type != synclayer.SyncCompleted || a.ID != "SyncCompleted:e1" || a.Subject != "e1" || a.Source != "test" || a.Meta["traceparent"] != ev.Meta["traceparent"] {
		t.Fatalf("announcement envelope = %+v", a)
	}
	var data synclayer.Announcement
	if err := json.Unmarshal(a.Data, &data); err != nil {
		t.Fatal(err)
	}
	want := synclayer.Announcement{EventID: "e1", EventType: "WorkflowDeployed", Results: []synclayer.AnnouncedResult{
		{Connector: "p0", Key: "WF-1", Status: synclayer.StatusSynced, Attempts: 1},
		{Connector: "p1", Key: "WF-1", Status: synclayer.StatusSynced, Attempts: 1},
	}}
	for i := range data.Results {
		data.Results[i].DurationMs = 0
	}
	if diff := cmp.Diff(want, data); diff != "" {
		t.Fatalf("announcement data (-want +got):\n%s", diff)
	}
	// The raw JSON uses the documented field names and status words.
	for _, s := range []string{`"eventId":"e1"`, `"eventType":"WorkflowDeployed"`, `"status":"synced"`, `"connector":"p0"`} {
		if !strings.Contains(string(a.Data), s) {
			t.Errorf("announcement JSON %s lacks %s", a.Data, s)
		}
	}
}

func TestSyncFailedNamesRouteAndError(t *testing.T) {
	reg, fakes := newFakes(t, 2)
	fakes[1].Inject(synclayertest.Fault{Err: synclayer.Permanent(errors.New("partner said 400: field title missing"))})
	pub := &recordingPublisher{}
	d := synclayertest.NewDispatcher(t, reg, synclayer.WithObserver(synclayer.NoObserver), synclayer.WithPublisher(pub))
	ev := event("e9", "WF-9", 0)
	if _, err := d.Dispatch(t.Context(), ev); err == nil {
		t.Fatal("want an error")
	}
	got := pub.Events()
	if len(got) != 1 || got[0].Type != synclayer.SyncFailed {
		t.Fatalf("announcements = %v, want one SyncFailed", got)
	}
	var data synclayer.Announcement
	if err := json.Unmarshal(got[0].Data, &data); err != nil {
		t.Fatal(err)
	}
	r := data.Results[1]
	if r.Connector != "p1" || r.Status != synclayer.StatusFailed || !strings.Contains(r.Error, "field title missing") || !strings.Contains(r.Error, `"e9"`) {
		t.Fatalf("failed result = %+v", r)
	}
	// The failure repaired by a redelivery is announced as completed, once.
	for range 2 {
		if _, err := d.Dispatch(t.Context(), ev); err != nil {
			t.Fatal(err)
		}
	}
	got = pub.Events()
	if len(got) != 2 || got[1].Type != synclayer.SyncCompleted {
		t.Fatalf("after repair: %d announcements (%v), want SyncFailed then one SyncCompleted", len(got), got)
	}
}

func TestAnnouncementRetriedOnRedeliveryWhenPublishFailed(t *testing.T) {
	reg, fakes := newFakes(t, 1)
	pub := &recordingPublisher{failing: errors.New("bus down")}
	d := synclayertest.NewDispatcher(t, reg, synclayer.WithObserver(synclayer.NoObserver), synclayer.WithPublisher(pub))
	ev := event("e1", "WF-1", 0)
	rep, err := d.Dispatch(t.Context(), ev)
	if !errors.Is(err, synclayer.ErrPublish) || !strings.Contains(err.Error(), "bus down") || synclayer.IsPermanent(err) {
		t.Fatalf("err = %v; want a retryable ErrPublish naming the cause", err)
	}
	if rep.Results[0].Status != synclayer.StatusSynced {
		t.Fatalf("the push itself should have succeeded: %v", rep.Results[0])
	}
	pub.mu.Lock()
	pub.failing = nil
	pub.mu.Unlock()
	rep, err = d.Dispatch(t.Context(), ev)
	if err != nil || rep.Results[0].Status != synclayer.StatusDuplicate {
		t.Fatalf("redelivery: %v, %v; want duplicate and no error", rep.Results, err)
	}
	if got := pub.Events(); len(got) != 1 || got[0].Type != synclayer.SyncCompleted {
		t.Fatalf("announcements after redelivery = %v, want one SyncCompleted", got)
	}
	if fakes[0].CallCount() != 1 {
		t.Fatalf("partner called %d times, want 1", fakes[0].CallCount())
	}
}

func TestNoAnnouncementWithoutRoutes(t *testing.T) {
	reg, _ := newFakes(t, 1)
	pub := &recordingPublisher{}
	d := synclayertest.NewDispatcher(t, reg, synclayer.WithObserver(synclayer.NoObserver), synclayer.WithPublisher(pub))
	if _, err := d.Dispatch(t.Context(), synclayer.Event{ID: "x", Type: synclayer.SyncCompleted}); err != nil {
		t.Fatal(err)
	}
	if n := len(pub.Events()); n != 0 {
		t.Fatalf("%d announcements for an unrouted event, want 0 (announcing it would loop)", n)
	}
}

// remoteStore hides a MemoryStore's type, so the dispatcher treats it as a
// store across the network: under Run it claims SyncCompleted early,
// beside the routes, and completes the announcement after the handler.
type remoteStore struct{ synclayer.Store }

// Under Run with a remote store, each outcome is announced exactly once:
// SyncCompleted (through the early claim), SyncFailed (the early claim
// given back first, so the key is not busy, and its own claim recorded, so
// a later success is still announced), and nothing while a route is held,
// without leaving the announcement's key busy for later.
func TestEarlyAnnouncementClaim(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reg, fakes := newFakes(t, 1)
		pub := &recordingPublisher{}
		d := synclayertest.NewDispatcher(t, reg, synclayer.WithObserver(synclayer.NoObserver), synclayer.WithPublisher(pub),
			synclayer.WithStore(remoteStore{new(synclayer.MemoryStore)}))
		h, stop := runHandler(t, d)
		defer stop()
		ctx := context.Background()

		if err := h(ctx, event("ok", "K1", 1)); err != nil {
			t.Fatal(err)
		}
		synctest.Wait() // the announcement's done-marker lands
		if err := h(ctx, event("ok", "K1", 1)); err != nil {
			t.Fatalf("redelivery: %v", err)
		}

		fakes[0].Inject(synclayertest.Fault{Err: synclayer.Permanent(errors.New("400 bad record"))})
		if err := h(ctx, event("bad", "K2", 1)); !synclayer.IsPermanent(err) {
			t.Fatalf("a route failed for good: handler = %v, want a permanent error", err)
		}
		synctest.Wait()
		// Replayed once the partner is fixed, it completes: a new outcome,
		// announced as such.
		if err := h(ctx, event("bad", "K2", 1)); err != nil {
			t.Fatalf("redelivery of the failed event: %v", err)
		}
		synctest.Wait()

		must(t, d.Pause("p0"))
		if err := h(ctx, event("held", "K3", 1)); err == nil {
			t.Fatal("a route held in the memory log was acknowledged")
		}
		synctest.Wait()
		if _, err := d.Resume(ctx, "p0"); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if err := h(ctx, event("held", "K3", 1)); err != nil {
			t.Fatalf("redelivery after resume: %v", err)
		}
		synctest.Wait()

		var got []string
		for _, ev := range pub.Events() {
			got = append(got, ev.ID)
		}
		want := []string{"SyncCompleted:ok", "SyncFailed:bad", "SyncCompleted:bad", "SyncCompleted:held"}
		if len(got) != len(want) {
			t.Fatalf("announcements %q, want %q", got, want)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("announcements %q, want %q", got, want)
			}
		}
	})
}

// An early claim that finds the announcement leased by another process
// does not publish: from the bus the event goes back for a redelivery, and
// once the other lease is gone it is announced once.
func TestEarlyAnnouncementClaimBusyElsewhere(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		mem := new(synclayer.MemoryStore)
		reg, _ := newFakes(t, 1)
		pub := &recordingPublisher{}
		d := synclayertest.NewDispatcher(t, reg, synclayer.WithObserver(synclayer.NoObserver), synclayer.WithPublisher(pub), synclayer.WithStore(remoteStore{mem}))
		h, stop := runHandler(t, d)
		defer stop()
		ctx := context.Background()
		other := idempotency.Claim{Connector: "$announce", Key: "x", EventID: synclayer.SyncCompleted + "/x", LeaseTTL: 5 * time.Second}
		cr, err := mem.Claim(ctx, other)
		if err != nil || cr.Status != idempotency.ClaimAcquired {
			t.Fatalf("the other process's claim: %+v, %v", cr, err)
		}
		err = h(ctx, event("x", "K", 1))
		if _, ok := synclayer.RedeliverAfter(err); !ok || len(pub.Events()) != 0 {
			t.Fatalf("handler = %v with %d announcements; want a redelivery and none", err, len(pub.Events()))
		}
		time.Sleep(6 * time.Second) // the other process died: its lease lapses
		if err := h(ctx, event("x", "K", 1)); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if n := len(pub.Events()); n != 1 {
			t.Fatalf("%d announcements, want 1", n)
		}
	})
}

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
