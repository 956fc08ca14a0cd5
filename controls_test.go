package synclayer_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/synclayertest"
)

func TestDeliveryLogRecordsEveryRoute(t *testing.T) {
	reg := new(synclayer.Registry)
	fake := synclayertest.NewFake()
	withID := idConnector{fake}
	must(t, reg.Register("gis", withID, synclayer.Route("WorkflowDeployed", keyMapper)))
	var mu sync.Mutex
	var seen []string
	d := synclayertest.NewDispatcher(t, reg, synclayer.WithObserver(synclayer.NoObserver))
	stop := d.Watch(func(dl synclayer.Delivery) {
		mu.Lock()
		seen = append(seen, dl.EventID+":"+dl.State.String())
		mu.Unlock()
	})
	defer stop()
	ev := event("e1", "WF-1", 1)
	for range 2 {
		if _, err := d.Dispatch(t.Context(), ev); err != nil {
			t.Fatal(err)
		}
	}
	got, err := d.Deliveries(t.Context(), synclayer.DeliveryFilter{EventID: "e1"})
	if err != nil || len(got) != 1 {
		t.Fatalf("deliveries of e1 = %v, %v; want one entry per (event, connector)", got, err)
	}
	dl := got[0]
	// The second delivery was a duplicate; the entry keeps that latest state.
	if dl.State != synclayer.StatusDuplicate || dl.Connector != "gis" || dl.Key != "WF-1" {
		t.Fatalf("entry = %+v", dl)
	}
	mu.Lock()
	defer mu.Unlock()
	if diff := cmp.Diff([]string{"e1:in_progress", "e1:synced", "e1:duplicate"}, seen); diff != "" {
		t.Fatalf("watched states (-want +got):\n%s", diff)
	}
	// The synced entry carried the partner id, payload hash and timing.
	d2 := synclayertest.NewDispatcher(t, reg, synclayer.WithObserver(synclayer.NoObserver))
	if _, err := d2.Dispatch(t.Context(), event("e2", "WF-2", 1)); err != nil {
		t.Fatal(err)
	}
	got, _ = d2.Deliveries(t.Context(), synclayer.DeliveryFilter{EventID: "e2"})
	if e := got[0]; e.State != synclayer.StatusSynced || e.PartnerID != "objectId=42" || len(e.PayloadHash) != 64 || e.Attempts != 1 || e.FirstAttempt.IsZero() {
		t.Fatalf("synced entry = %+v", e)
	}
}

// A replay whose push went through but whose announcement could not be
// published reports that push with the error: the caller learns what was
// written, and the next replay finds it done.
func TestReplayReportsAPushWhoseAnnouncementFailed(t *testing.T) {
	reg, fakes := newFakes(t, 1)
	fakes[0].Inject(synclayertest.Fault{Err: synclayer.Permanent(errors.New("400 missing title"))})
	pub := &recordingPublisher{}
	d := synclayertest.NewDispatcher(t, reg, synclayer.WithObserver(synclayer.NoObserver), synclayer.WithPublisher(pub))
	_, _ = d.Dispatch(t.Context(), event("e0", "K0", 0)) // a dead letter
	pub.mu.Lock()
	pub.failing = errors.New("bus down")
	pub.mu.Unlock()
	res, err := d.Replay(t.Context(), synclayer.DeliveryFilter{})
	if !errors.Is(err, synclayer.ErrPublish) {
		t.Fatalf("replay error %v, want ErrPublish", err)
	}
	if len(res) != 1 || res[0].Status != synclayer.StatusSynced || res[0].Key != "K0" {
		t.Fatalf("replay results %+v; want the push of K0, synced", res)
	}
	if n := fakes[0].Writes("K0"); n != 1 {
		t.Fatalf("K0 written %d times, want 1", n)
	}
}

func TestDeadLettersAndReplayNeverDuplicates(t *testing.T) {
	reg, fakes := newFakes(t, 2)
	fakes[1].Inject(synclayertest.Fault{Times: 2, Err: synclayer.Permanent(errors.New("400 missing title"))})
	pub := &recordingPublisher{}
	d := synclayertest.NewDispatcher(t, reg, synclayer.WithObserver(synclayer.NoObserver), synclayer.WithPublisher(pub))
	for i := range 2 {
		_, _ = d.Dispatch(t.Context(), event(fmt.Sprint("e", i), fmt.Sprint("K", i), 0))
	}
	dead, err := d.DeadLetters(t.Context(), synclayer.DeliveryFilter{Connector: "p1"})
	if err != nil || len(dead) != 2 {
		t.Fatalf("dead letters = %v, %v; want 2", dead, err)
	}
	if dead[0].State != synclayer.StatusDead || dead[0].Event == nil || dead[0].Error == "" || dead[0].Attempts != 1 {
		t.Fatalf("dead letter = %+v", dead[0])
	}
	// Replay one by event id, then all; then all again.
	res, err := d.Replay(t.Context(), synclayer.DeliveryFilter{EventID: "e0"})
	if err != nil || len(res) != 1 || res[0].Status != synclayer.StatusSynced {
		t.Fatalf("replay e0 = %v, %v", res, err)
	}
	res, err = d.Replay(t.Context(), synclayer.DeliveryFilter{Connector: "p1"})
	if err != nil || len(res) != 1 || res[0].Status != synclayer.StatusSynced || res[0].Key != "K1" {
		t.Fatalf("replay p1 = %v, %v", res, err)
	}
	res, _ = d.Replay(t.Context(), synclayer.DeliveryFilter{})
	if len(res) != 0 {
		t.Fatalf("third replay found %v, want nothing left", res)
	}
	if fakes[1].Writes("K0") != 1 || fakes[1].Writes("K1") != 1 || fakes[0].CallCount() != 2 {
		t.Fatalf("writes: p1 K0=%d K1=%d, p0 calls %d; want 1, 1, 2", fakes[1].Writes("K0"), fakes[1].Writes("K1"), fakes[0].CallCount())
	}
	// Each event: SyncFailed first, then SyncCompleted after the replay.
	var kinds []string
	for _, a := range pub.Events() {
		kinds = append(kinds, a.ID)
	}
	if diff := cmp.Diff([]string{"SyncFailed:e0", "SyncFailed:e1", "SyncCompleted:e0", "SyncCompleted:e1"}, kinds); diff != "" {
		t.Fatalf("announcements (-want +got):\n%s", diff)
	}
}

func TestPauseQueuesAndResumePushesInKeyOrder(t *testing.T) {
	reg, fakes := newFakes(t, 2)
	pub := &recordingPublisher{}
	d := synclayertest.NewDispatcher(t, reg, synclayer.WithObserver(synclayer.NoObserver), synclayer.WithPublisher(pub))
	must(t, d.Pause("p1"))
	if err := d.Pause("nope"); !errors.Is(err, synclayer.ErrUnknownConnector) {
		t.Fatalf("pause of an unknown connector = %v", err)
	}
	for _, e := range []struct {
		id, key string
		v       int64
	}{{"e1", "B", 1}, {"e2", "A", 1}, {"e3", "B", 2}, {"e4", "C", 1}} {
		rep, err := d.Dispatch(t.Context(), event(e.id, e.key, e.v))
		if err != nil || rep.Results[1].Status != synclayer.StatusPending || rep.Results[0].Status != synclayer.StatusSynced {
			t.Fatalf("dispatch while paused: %v, %v", statuses(rep), err)
		}
	}
	if fakes[1].CallCount() != 0 || len(pub.Events()) != 0 {
		t.Fatal("paused connector was called, or an event with a pending route was announced")
	}
	if st := d.Status()[1]; !st.Paused || st.Pending != 4 {
		t.Fatalf("status = %+v", st)
	}
	res, err := d.Resume(t.Context(), "p1")
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, c := range fakes[1].Calls() {
		order = append(order, fmt.Sprintf("%s/v%d", c.Key, c.Version))
	}
	if diff := cmp.Diff([]string{"A/v1", "B/v1", "B/v2", "C/v1"}, order); diff != "" {
		t.Fatalf("resume order (-want +got):\n%s", diff)
	}
	if len(res) != 4 || len(pub.Events()) != 4 {
		t.Fatalf("resume: %d results, %d announcements; want 4 and 4", len(res), len(pub.Events()))
	}
	if rec, _ := fakes[1].Record("B"); rec.Version != 2 {
		t.Fatalf("B holds v%d, want v2", rec.Version)
	}
}

type breakerLog struct {
	synclayer.Observer
	mu      sync.Mutex
	changes []string
}

func (b *breakerLog) ObserveAttempt(context.Context, synclayer.Attempt)                {}
func (b *breakerLog) ObserveResult(context.Context, synclayer.Event, synclayer.Result) {}
func (b *breakerLog) ObserveBreaker(_ context.Context, c string, from, to synclayer.BreakerState) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.changes = append(b.changes, c+":"+from.String()+"->"+to.String())
}

func TestCircuitBreakerOpensHoldsProbesAndDrains(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fake := synclayertest.NewFake()
		healthy := synclayertest.NewFake()
		reg := new(synclayer.Registry)
		must(t, reg.Register("dead", fake, synclayer.Route("WorkflowDeployed", keyMapper),
			synclayer.WithRetry(synclayer.RetryPolicy{MaxAttempts: 1}),
			synclayer.WithBreaker(synclayer.BreakerPolicy{Window: time.Minute, MinRequests: 4, FailureRate: 0.5, OpenFor: 10 * time.Second})))
		must(t, reg.Register("healthy", healthy, synclayer.Route("WorkflowDeployed", keyMapper)))
		obs := &breakerLog{}
		d := synclayertest.NewDispatcher(t, reg, synclayer.WithObserver(obs))
		fake.Inject(synclayertest.Fault{Times: -1, Err: errors.New("503")})
		for i := range 4 {
			_, _ = d.Dispatch(t.Context(), event(fmt.Sprint("f", i), fmt.Sprint("K", i), 0))
		}
		if st := d.Status()[0]; st.Breaker != synclayer.BreakerOpen {
			t.Fatalf("breaker = %v after 4 failures, want open", st.Breaker)
		}
		// While open: no call to the dead partner, the healthy one is unaffected.
		rep, _ := d.Dispatch(t.Context(), event("p1", "K9", 0))
		wantStatuses(t, "while open", rep, "dead:pending", "healthy:synced")
		if fake.CallCount() != 4 {
			t.Fatalf("dead partner called %d times, want 4 (none while open)", fake.CallCount())
		}
		// The partner recovers; after OpenFor the probe succeeds and the
		// queue drains.
		fake.ClearFaults()
		time.Sleep(11 * time.Second)
		synctest.Wait()
		if _, ok := fake.Record("K9"); !ok {
			t.Fatal("pending push was not drained after the breaker closed")
		}
		if st := d.Status()[0]; st.Breaker != synclayer.BreakerClosed {
			t.Fatalf("breaker = %v after a good probe, want closed", st.Breaker)
		}
		obs.mu.Lock()
		defer obs.mu.Unlock()
		if diff := cmp.Diff([]string{"dead:closed->open", "dead:half_open->closed"}, obs.changes); diff != "" {
			t.Fatalf("breaker changes (-want +got):\n%s", diff)
		}
	})
}

type tracer struct {
	mu     sync.Mutex
	events []string
}

type spanKey struct{}

func (tr *tracer) StartEvent(ctx context.Context, ev synclayer.Event) context.Context {
	return context.WithValue(ctx, spanKey{}, "span-"+ev.ID)
}
func (tr *tracer) EndEvent(ctx context.Context, rep synclayer.Report) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.events = append(tr.events, fmt.Sprintf("end %v %d", ctx.Value(spanKey{}), len(rep.Results)))
}
func (tr *tracer) ObserveAttempt(ctx context.Context, a synclayer.Attempt) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.events = append(tr.events, fmt.Sprintf("attempt %v %s", ctx.Value(spanKey{}), a.Connector))
}
func (tr *tracer) ObserveResult(context.Context, synclayer.Event, synclayer.Result) {}

func TestEventObserverWrapsTheEvent(t *testing.T) {
	reg, _ := newFakes(t, 1)
	tr := &tracer{}
	d := synclayertest.NewDispatcher(t, reg, synclayer.WithObserver(tr, nil))
	if _, err := d.Dispatch(t.Context(), event("e1", "K", 0)); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"attempt span-e1 p0", "end span-e1 1"}, tr.events); diff != "" {
		t.Fatalf("observer calls (-want +got):\n%s", diff)
	}
}

// idConnector reports a partner id for every record it writes, as a
// [synclayer.PartnerIDSyncer].
type idConnector struct{ *synclayertest.Fake }

func (c idConnector) SyncID(ctx context.Context, rec synclayer.Record) (string, error) {
	return "objectId=42", c.Sync(ctx, rec)
}
