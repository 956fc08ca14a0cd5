package synclayer_test

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/synclayertest"
)

// source yields n events, one per key K0..Kn-1, at version v.
func source(n int, v int64) iter.Seq2[synclayer.Event, error] {
	return func(yield func(synclayer.Event, error) bool) {
		for i := range n {
			if !yield(event(fmt.Sprintf("src-%d-v%d", i, v), fmt.Sprintf("K%d", i), v), nil) {
				return
			}
		}
	}
}

// fast lets a resync go as fast as the test machine allows.
var fast = synclayer.ResyncOptions{Rate: 1e9, Burst: 1000, Concurrency: 8}

func TestResyncPushesEveryKeyOnceThenNothing(t *testing.T) {
	const n = 10_000
	d, fakes := newFakeDispatcher(t, 1)
	p, err := d.Resync(t.Context(), source(n, 1), fast)
	if err != nil {
		t.Fatal(err)
	}
	if p.Events != n || p.Pushed != n || p.Skipped != 0 || p.Failed != 0 || !p.Done {
		t.Fatalf("first resync: %+v, want %d events pushed", p, n)
	}
	recs := fakes[0].Records()
	if len(recs) != n {
		t.Fatalf("the partner holds %d records, want %d", len(recs), n)
	}
	for k, r := range recs {
		if r.Writes != 1 || r.Version != 1 {
			t.Fatalf("%s: %d writes at version %d, want 1 at 1", k, r.Writes, r.Version)
		}
	}
	h, ok, err := d.Holding(t.Context(), "p0", "K42")
	if err != nil || !ok || h.Version != 1 || h.EventID != "src-42-v1" || h.Hash == "" || h.PushedAt.IsZero() {
		t.Fatalf("ledger for K42: %+v, %v, %v", h, ok, err)
	}

	calls := fakes[0].CallCount()
	p, err = d.Resync(t.Context(), source(n, 1), fast)
	if err != nil {
		t.Fatal(err)
	}
	if p.Pushed != 0 || p.Skipped != n {
		t.Fatalf("second resync: %+v, want all %d skipped", p, n)
	}
	if got := fakes[0].CallCount(); got != calls {
		t.Fatalf("the second resync made %d requests, want none", got-calls)
	}
}

// A resync killed halfway and started again in a new process over the same
// store finishes without pushing again what the first one did.
func TestResyncResumesAfterAKill(t *testing.T) {
	const n = 2_000
	store := new(synclayer.MemoryStore) // survives the "process", as a durable store does
	fake := synclayertest.NewFake()
	ctx, kill := context.WithCancel(t.Context())
	var calls atomic.Int64
	first := synclayer.ConnectorFunc(func(c context.Context, rec synclayer.Record) error {
		err := fake.Sync(c, rec)
		if calls.Add(1) == n/2 {
			kill()
		}
		return err
	})
	reg := new(synclayer.Registry)
	must(t, reg.Register("p0", first, synclayer.Route("WorkflowDeployed", keyMapper), synclayer.WithRetry(fastRetry)))
	d1 := synclayertest.NewDispatcher(t, reg, synclayer.WithObserver(synclayer.NoObserver), synclayer.WithStore(store))
	p1, err := d1.Resync(ctx, source(n, 1), fast)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("killed resync returned %v, want context.Canceled", err)
	}
	if p1.Pushed < n/2 || p1.Pushed >= n {
		t.Fatalf("killed resync pushed %d, want about half of %d", p1.Pushed, n)
	}

	reg2 := new(synclayer.Registry)
	must(t, reg2.Register("p0", fake, synclayer.Route("WorkflowDeployed", keyMapper), synclayer.WithRetry(fastRetry)))
	d2 := synclayertest.NewDispatcher(t, reg2, synclayer.WithObserver(synclayer.NoObserver), synclayer.WithStore(store))
	p2, err := d2.Resync(t.Context(), source(n, 1), fast)
	if err != nil {
		t.Fatal(err)
	}
	if p2.Pushed+p2.Skipped != n || p2.Pushed > n-p1.Pushed {
		t.Fatalf("restarted resync: %+v after %d pushed; want only the rest pushed", p2, p1.Pushed)
	}
	recs := fake.Records()
	if len(recs) != n {
		t.Fatalf("the partner holds %d records, want %d", len(recs), n)
	}
	for k, r := range recs {
		if r.Writes != 1 {
			t.Fatalf("%s written %d times, want once", k, r.Writes)
		}
	}
}

// Live events for the keys a resync is pushing win by version.
func TestResyncLiveEventsWinByVersion(t *testing.T) {
	const n = 1_000
	d, fakes := newFakeDispatcher(t, 1)
	var wg sync.WaitGroup
	wg.Go(func() {
		if _, err := d.Resync(t.Context(), source(n, 1), fast); err != nil {
			t.Error(err)
		}
	})
	for i := range n {
		if _, err := d.Dispatch(t.Context(), event(fmt.Sprintf("live-%d", i), fmt.Sprintf("K%d", i), 2)); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	for k, r := range fakes[0].Records() {
		if r.Version != 2 {
			t.Fatalf("%s holds version %d, want the live 2", k, r.Version)
		}
	}
}

// A forced resync pushes what the partner already holds, for a partner that
// lost its data, but never an older version over a newer one.
func TestResyncForce(t *testing.T) {
	const n = 50
	d, fakes := newFakeDispatcher(t, 1)
	if _, err := d.Resync(t.Context(), source(n, 1), fast); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Dispatch(t.Context(), event("live-7", "K7", 5)); err != nil {
		t.Fatal(err)
	}
	force := fast
	force.Force = true
	p, err := d.Resync(t.Context(), source(n, 1), force)
	if err != nil {
		t.Fatal(err)
	}
	if p.Pushed != n-1 || p.Skipped != 1 {
		t.Fatalf("forced resync: %+v, want %d pushed and K7 skipped", p, n-1)
	}
	for k, r := range fakes[0].Records() {
		want := 2
		if k == "K7" {
			want = 2 // resync v1, live v5; the forced v1 is not pushed
			if r.Version != 5 {
				t.Fatalf("K7 holds version %d after a forced resync, want 5", r.Version)
			}
		}
		if r.Writes != want {
			t.Fatalf("%s written %d times, want %d", k, r.Writes, want)
		}
	}
	h, _, err := d.Holding(t.Context(), "p0", "K7")
	if err != nil || h.Version != 5 || h.EventID != "live-7" {
		t.Fatalf("ledger for K7: %+v, %v; want version 5 by live-7", h, err)
	}
}

// A forced resync writes nothing to a paused connector: its routes count
// as failed, and a forced resync after Resume pushes them.
func TestResyncForceWritesNothingWhilePaused(t *testing.T) {
	const n = 5
	d, fakes := newFakeDispatcher(t, 1)
	if _, err := d.Resync(t.Context(), source(n, 1), fast); err != nil {
		t.Fatal(err)
	}
	must(t, d.Pause("p0"))
	calls := fakes[0].CallCount()
	force := fast
	force.Force = true
	p, err := d.Resync(t.Context(), source(n, 1), force)
	if err != nil {
		t.Fatal(err)
	}
	if p.Pushed != 0 || p.Failed != n || fakes[0].CallCount() != calls {
		t.Fatalf("forced resync of a paused connector: %+v, %d requests; want %d failed and none", p, fakes[0].CallCount()-calls, n)
	}
	if _, err := d.Resume(t.Context(), "p0"); err != nil {
		t.Fatal(err)
	}
	if p, err := d.Resync(t.Context(), source(n, 1), force); err != nil || p.Pushed != n {
		t.Fatalf("forced resync after Resume: %+v, %v; want %d pushed", p, err, n)
	}
}

// A resync whose ctx has a deadline takes events at its rate until the
// deadline, and stops then with ctx's error: the rate limiter's refusal of
// a wait past the deadline does not stop it early.
func TestResyncRunsUntilTheDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d, _ := newFakeDispatcher(t, 1)
		ctx, cancel := context.WithTimeout(t.Context(), 1500*time.Millisecond)
		defer cancel()
		start := time.Now()
		p, err := d.Resync(ctx, source(3, 1), synclayer.ResyncOptions{Rate: 1}) // at 0s, 1s, 2s
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("resync stopped with %v, want one wrapping context.DeadlineExceeded", err)
		}
		if took := time.Since(start); took != 1500*time.Millisecond || p.Events != 2 || p.Pushed != 2 {
			t.Fatalf("resync stopped after %v with %+v; want 2 events pushed, stopped at the deadline (1.5s)", took, p)
		}
	})
}

// A resync whose ctx ends counts only the events it took up: those left
// queued for its workers are neither pushed nor counted Failed.
func TestResyncCountsOnlyWhatItTookUp(t *testing.T) {
	const workers = 2
	entered := make(chan struct{}, 100)
	var calls atomic.Int64
	blocking := synclayer.ConnectorFunc(func(ctx context.Context, _ synclayer.Record) error {
		calls.Add(1)
		entered <- struct{}{}
		<-ctx.Done()
		return ctx.Err()
	})
	reg := new(synclayer.Registry)
	must(t, reg.Register("p0", blocking, synclayer.Route("WorkflowDeployed", keyMapper), synclayer.WithRetry(fastRetry)))
	d := synclayertest.NewDispatcher(t, reg, synclayer.WithObserver(synclayer.NoObserver))
	ctx, cancel := context.WithCancel(t.Context())
	go func() {
		for range workers {
			<-entered // both workers are pushing; the rest of the source waits in the queue
		}
		cancel()
	}()
	p, err := d.Resync(ctx, source(50, 1), synclayer.ResyncOptions{Rate: 1e9, Burst: 1000, Concurrency: workers})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("resync returned %v, want context.Canceled", err)
	}
	if n := calls.Load(); n != workers {
		t.Fatalf("the partner saw %d pushes, want %d", n, workers)
	}
	if p.Events != workers || p.Failed != workers || p.Pushed != 0 || p.Skipped != 0 {
		t.Fatalf("progress %+v; want the %d events taken up, each Failed, and none of those left queued", p, workers)
	}
}

// Progress may ask Dispatcher.Resyncs, and hears there what it is told.
func TestResyncProgressMayCallResyncs(t *testing.T) {
	const n = 20
	d, _ := newFakeDispatcher(t, 1)
	opt := fast
	opt.Name = "agency-7"
	var mismatch []string // appended to by one Progress call at a time
	opt.Progress = func(p synclayer.ResyncProgress) {
		for _, q := range d.Resyncs() {
			if q.Name == p.Name && (q.Events != p.Events || q.Pushed != p.Pushed || q.Done != p.Done) {
				mismatch = append(mismatch, fmt.Sprintf("told %+v, Resyncs says %+v", p, q))
			}
		}
	}
	done := make(chan error, 1)
	go func() {
		_, err := d.Resync(t.Context(), source(n, 1), opt)
		done <- err
	}()
	nilWithin(t, done, 30*time.Second, "Resync blocked: Progress called Resyncs while the resync held its own lock")
	if len(mismatch) != 0 {
		t.Fatalf("Resyncs inside Progress disagrees with the report: %v", mismatch)
	}
}

type resyncReports struct {
	mu      sync.Mutex
	reports []synclayer.ResyncProgress
}

func (r *resyncReports) progress(p synclayer.ResyncProgress) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reports = append(r.reports, p)
}

func TestResyncReportsProgress(t *testing.T) {
	const n = 20
	reg, _ := newFakes(t, 1)
	obs := new(resyncReports)
	d := synclayertest.NewDispatcher(t, reg, synclayer.WithObserver(synclayer.NoObserver))
	opt := fast
	opt.Name = "agency-7"
	opt.Progress = obs.progress
	if _, err := d.Resync(t.Context(), source(n, 1), opt); err != nil {
		t.Fatal(err)
	}
	if len(obs.reports) != n+1 {
		t.Fatalf("%d progress reports, want one per event and a last one: %d", len(obs.reports), n+1)
	}
	for i, p := range obs.reports[:n] {
		if p.Events != i+1 || p.Done || p.Name != "agency-7" {
			t.Fatalf("report %d: %+v", i, p)
		}
	}
	if last := obs.reports[n]; !last.Done || last.Events != n || last.Pushed != n || last.Err != "" || len(last.Connectors) != 1 || last.Connectors[0] != "p0" {
		t.Fatalf("last report: %+v", last)
	}
	if rs := d.Resyncs(); len(rs) != 1 || rs[0].Name != "agency-7" || !rs[0].Done || rs[0].Pushed != n {
		t.Fatalf("Resyncs after the run: %+v", rs)
	}
	// While a resync runs, Resyncs shows it as it stands.
	var during []synclayer.ResyncProgress
	src := func(yield func(synclayer.Event, error) bool) {
		yield(event("late", "K1", 9), nil)
		during = d.Resyncs()
	}
	opt.Name, opt.Progress = "second", nil
	if _, err := d.Resync(t.Context(), src, opt); err != nil {
		t.Fatal(err)
	}
	if len(during) != 2 || during[0].Name != "agency-7" || during[1].Name != "second" || during[1].Done {
		t.Fatalf("Resyncs during a run: %+v", during)
	}
}

func TestResyncRefuses(t *testing.T) {
	d, _ := newFakeDispatcher(t, 1)
	if _, err := d.Resync(t.Context(), source(1, 1), synclayer.ResyncOptions{Rate: -1}); !errors.Is(err, synclayer.ErrInvalidOption) {
		t.Errorf("negative rate: %v, want ErrInvalidOption", err)
	}
	if _, err := d.Resync(t.Context(), source(1, 1), synclayer.ResyncOptions{Connectors: []string{"nope"}}); !errors.Is(err, synclayer.ErrUnknownConnector) {
		t.Errorf("unknown connector: %v, want ErrUnknownConnector", err)
	}
	broken := func(yield func(synclayer.Event, error) bool) {
		if yield(event("a", "K1", 1), nil) {
			yield(synclayer.Event{}, errors.New("scan: connection reset"))
		}
	}
	p, err := d.Resync(t.Context(), broken, fast)
	if err == nil || err.Error() != "synclayer: resync: the source failed: scan: connection reset" {
		t.Errorf("failing source: %v", err)
	}
	if p.Events != 1 || p.Pushed != 1 || !p.Done || p.Err != err.Error() {
		t.Errorf("failing source progress: %+v", p)
	}
}

// A resync holds at most its Concurrency of a connector's slots, so live
// events still get through while every resync push is stuck at the partner.
func TestResyncNeverStarvesLiveTraffic(t *testing.T) {
	fake := synclayertest.NewFake()
	stuck := make(chan struct{})
	for i := range 100 {
		fake.Inject(synclayertest.Fault{Key: fmt.Sprintf("K%d", i), Times: -1, Wait: stuck})
	}
	reg := new(synclayer.Registry)
	must(t, reg.Register("p0", fake, synclayer.Route("WorkflowDeployed", keyMapper),
		synclayer.WithRetry(fastRetry), synclayer.WithConcurrency(3)))
	d := synclayertest.NewDispatcher(t, reg, synclayer.WithObserver(synclayer.NoObserver))
	done := make(chan error, 1)
	go func() {
		_, err := d.Resync(t.Context(), source(100, 1), synclayer.ResyncOptions{Rate: 1e9, Burst: 100, Concurrency: 2})
		done <- err
	}()
	if err := fake.WaitInFlight(t.Context(), 2); err != nil {
		t.Fatal(err)
	}
	// Both resync workers are stuck at the partner, each on one slot; a
	// resync that took every slot would leave this waiting.
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if _, err := d.Dispatch(ctx, event("live", "L1", 1)); err != nil {
		t.Fatalf("a live event beside a stuck resync: %v", err)
	}
	if r, ok := fake.Record("L1"); !ok || r.EventID != "live" {
		t.Fatalf("the live event did not reach the partner: %+v", r)
	}
	close(stuck)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n := len(fake.Records()); n != 101 {
		t.Fatalf("the partner holds %d records, want 100 resynced and 1 live", n)
	}
}
