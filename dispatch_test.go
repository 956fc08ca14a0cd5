package synclayer_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/synclayertest"
)

// Rule 1: one event reaches every routed connector, concurrently.
func TestDispatchFansOutConcurrently(t *testing.T) {
	d, fakes := newFakeDispatcher(t, 3)
	release := fakes[0].Hold()
	defer release()

	done := make(chan synclayer.Report, 1)
	go func() {
		rep, _ := d.Dispatch(t.Context(), event("e1", "WF-1", 0))
		done <- rep
	}()
	ctx := synclayertest.Within(t, 5*time.Second)
	// p1 and p2 finish while p0 is still held: the routes run concurrently.
	for _, f := range fakes[1:] {
		if err := f.WaitCalls(ctx, 1); err != nil {
			t.Fatal(err)
		}
		if err := f.WaitInFlight(ctx, 0); err != nil {
			t.Fatal(err)
		}
	}
	if _, ok := fakes[1].Record("WF-1"); !ok {
		t.Fatal("p1 has no record while p0 is held")
	}
	release()
	rep := <-done
	wantStatuses(t, "statuses", rep, "p0:synced", "p1:synced", "p2:synced")
	wantOneCallEach(t, fakes)
}

func TestDispatchUnroutedTypeIsEmpty(t *testing.T) {
	d, fakes := newFakeDispatcher(t, 1)
	rep, err := d.Dispatch(t.Context(), synclayer.Event{ID: "x", Type: "NobodyCares"})
	if err != nil || len(rep.Results) != 0 || !rep.OK() {
		t.Fatalf("got %v, %v; want an empty report and no error", rep.Results, err)
	}
	if fakes[0].CallCount() != 0 {
		t.Fatal("connector called for an unrouted type")
	}
}

func TestDispatchRespectsConcurrencyLimit(t *testing.T) {
	d, fakes := newFakeDispatcher(t, 1, synclayer.WithConcurrency(2))
	release := fakes[0].Hold()
	var wg sync.WaitGroup
	for i := range 10 {
		wg.Go(func() {
			if _, err := d.Dispatch(t.Context(), event(fmt.Sprint("e", i), fmt.Sprint("K", i), 0)); err != nil {
				t.Error(err)
			}
		})
	}
	ctx := synclayertest.Within(t, 5*time.Second)
	if err := fakes[0].WaitInFlight(ctx, 2); err != nil {
		t.Fatal(err)
	}
	release()
	wg.Wait()
	if got := fakes[0].MaxInFlight(); got != 2 {
		t.Fatalf("max in flight = %d, want 2 (the limit)", got)
	}
	if got := len(fakes[0].Records()); got != 10 {
		t.Fatalf("partner holds %d records, want 10", got)
	}
}

// Rule 3: the same event twice calls each connector once.
func TestDispatchDuplicateSequential(t *testing.T) {
	d, fakes := newFakeDispatcher(t, 3)
	ev := event("e1", "WF-1", 1)
	if _, err := d.Dispatch(t.Context(), ev); err != nil {
		t.Fatal(err)
	}
	rep, err := d.Dispatch(t.Context(), ev)
	if err != nil {
		t.Fatal(err)
	}
	wantStatuses(t, "redelivery statuses", rep, "p0:duplicate", "p1:duplicate", "p2:duplicate")
	wantOneCallEach(t, fakes)
}

func TestDispatchDuplicateConcurrent(t *testing.T) {
	d, fakes := newFakeDispatcher(t, 2)
	ev := event("e1", "WF-1", 1)
	var mu sync.Mutex
	count := map[string]int{}
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			rep, err := d.Dispatch(t.Context(), ev)
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			for _, s := range statuses(rep) {
				count[s]++
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	want := map[string]int{"p0:synced": 1, "p0:duplicate": 49, "p1:synced": 1, "p1:duplicate": 49}
	if diff := cmp.Diff(want, count); diff != "" {
		t.Fatalf("statuses over 50 deliveries (-want +got):\n%s", diff)
	}
	wantOneCallEach(t, fakes)
}

func TestRedeliveryAfterPartialFailureCallsOnlyFailed(t *testing.T) {
	d, fakes := newFakeDispatcher(t, 3)
	fakes[1].Inject(synclayertest.Fault{Err: synclayer.Permanent(errors.New("400 bad request"))})
	ev := event("e1", "WF-1", 1)
	rep, err := d.Dispatch(t.Context(), ev)
	if err == nil {
		t.Fatal("want an error for the failed route")
	}
	wantStatuses(t, "first delivery", rep, "p0:synced", "p1:failed", "p2:synced")
	rep, err = d.Dispatch(t.Context(), ev)
	if err != nil {
		t.Fatal(err)
	}
	wantStatuses(t, "redelivery", rep, "p0:duplicate", "p1:synced", "p2:duplicate")
	if got := []int{fakes[0].CallCount(), fakes[1].CallCount(), fakes[2].CallCount()}; !cmp.Equal(got, []int{1, 2, 1}) {
		t.Fatalf("calls per connector = %v, want [1 2 1]", got)
	}
}

// Rule 4: one key at a time per connector, and stale versions skipped.
func TestSameKeyNeverConcurrent(t *testing.T) {
	d, fakes := newFakeDispatcher(t, 1)
	var wg sync.WaitGroup
	for i := range 200 {
		wg.Go(func() {
			if _, err := d.Dispatch(t.Context(), event(fmt.Sprint("e", i), fmt.Sprint("K", i%3), 0)); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := fakes[0].Overlaps(); n != 0 {
		t.Fatalf("%d calls overlapped another call for the same key", n)
	}
	if n := fakes[0].CallCount(); n != 200 {
		t.Fatalf("calls = %d, want 200 (unversioned records are always pushed)", n)
	}
}

func TestStaleVersionSkipped(t *testing.T) {
	d, fakes := newFakeDispatcher(t, 1)
	ctx := t.Context()
	for _, step := range []struct {
		id      string
		version int64
		want    synclayer.Status
	}{
		{"e2", 2, synclayer.StatusSynced},
		{"e1", 1, synclayer.StatusStale},     // older, arrived late
		{"e2b", 2, synclayer.StatusStale},    // same version, another event
		{"e3", 3, synclayer.StatusSynced},    // newer
		{"e3", 3, synclayer.StatusDuplicate}, // the same event again
	} {
		rep, err := d.Dispatch(ctx, event(step.id, "WF-1", step.version))
		if err != nil {
			t.Fatal(err)
		}
		if got := rep.Results[0].Status; got != step.want {
			t.Fatalf("event %s v%d: status %v, want %v", step.id, step.version, got, step.want)
		}
	}
	rec, _ := fakes[0].Record("WF-1")
	if rec.Version != 3 || rec.EventID != "e3" || fakes[0].CallCount() != 2 {
		t.Fatalf("partner holds v%d after %d calls; want v3 after 2", rec.Version, fakes[0].CallCount())
	}
}

// Rule 6: errors and panics stay on their route and name it.
func TestMapperAndConnectorFailuresStayOnTheirRoute(t *testing.T) {
	good := synclayertest.NewFake()
	reg := new(synclayer.Registry)
	must(t, reg.Register("good", good, synclayer.Route("WorkflowDeployed", keyMapper)))
	must(t, reg.Register("panicky-mapper", synclayertest.NewFake(), synclayer.Route("WorkflowDeployed",
		synclayer.MapperFunc(func(context.Context, synclayer.Event) (synclayer.Record, error) { panic("boom in mapper") }))))
	must(t, reg.Register("panicky-conn", synclayer.ConnectorFunc(func(context.Context, synclayer.Record) error { panic("boom in connector") }),
		synclayer.Route("WorkflowDeployed", keyMapper)))
	must(t, reg.Register("bad-key", synclayertest.NewFake(), synclayer.Route("WorkflowDeployed",
		synclayer.MapperFunc(func(context.Context, synclayer.Event) (synclayer.Record, error) {
			return synclayer.Record{Key: "a\r\nInjected: yes"}, nil
		}))))
	d := synclayertest.NewDispatcher(t, reg, synclayer.WithObserver(synclayer.NoObserver))
	rep, err := d.Dispatch(t.Context(), event("evt-7", "WF-7", 0))
	if err == nil {
		t.Fatal("want an error")
	}
	wantStatuses(t, "statuses", rep, "good:synced", "panicky-mapper:failed", "panicky-conn:failed", "bad-key:failed")
	checks := []struct {
		i      int
		is     error
		substr []string
	}{
		{1, synclayer.ErrMapping, []string{`event "evt-7"`, `connector "panicky-mapper"`, "panic recovered in mapper (value of type string)"}},
		{2, nil, []string{`event "evt-7"`, `connector "panicky-conn"`, `key "WF-7"`, "panic recovered in connector (value of type string)"}},
		{3, synclayer.ErrMapping, []string{`event "evt-7"`, `connector "bad-key"`, `control character U+000D`, `"a\r\nInjected: yes"`}},
	}
	for _, c := range checks {
		rerr := rep.Results[c.i].Err
		var pe *synclayer.PanicError
		if (c.is == nil && !errors.As(rerr, &pe)) || (c.is != nil && !errors.Is(rerr, c.is)) || !synclayer.IsPermanent(rerr) {
			t.Errorf("%s: error %v is not a permanent %v", rep.Results[c.i].Connector, rerr, c.is)
		}
		var se *synclayer.SyncError
		if !errors.As(rerr, &se) || se.EventID != "evt-7" {
			t.Errorf("%s: error %v is not a *SyncError for evt-7", rep.Results[c.i].Connector, rerr)
		}
		for _, s := range c.substr {
			if !strings.Contains(rerr.Error(), s) {
				t.Errorf("%s: error %q lacks %q", rep.Results[c.i].Connector, rerr, s)
			}
		}
	}
	// The panic's value stays out of error texts (they reach announcements),
	// and is kept for the local log on the *PanicError.
	for i, want := range map[int]string{1: "boom in mapper", 2: "boom in connector"} {
		rerr := rep.Results[i].Err
		if strings.Contains(rerr.Error(), want) {
			t.Errorf("error %q repeats the panic's value", rerr)
		}
		var pe *synclayer.PanicError
		if !errors.As(rerr, &pe) || pe.Value != want {
			t.Errorf("error %v: PanicError value %+v, want %q", rerr, pe, want)
		}
	}
}

func TestInvalidEvents(t *testing.T) {
	reg, fakes := newFakes(t, 1)
	d := synclayertest.NewDispatcher(t, reg, synclayer.WithObserver(synclayer.NoObserver), synclayer.WithMaxEventBytes(100))
	for _, tc := range []struct {
		name string
		ev   synclayer.Event
		want string
	}{
		{"no id", synclayer.Event{Type: "WorkflowDeployed"}, "no ID"},
		{"no type", synclayer.Event{ID: "x"}, "no Type"},
		{"too big", synclayer.Event{ID: "x", Type: "WorkflowDeployed", Data: make([]byte, 101)}, "101 bytes, over the limit of 100"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := d.Dispatch(t.Context(), tc.ev)
			if !errors.Is(err, synclayer.ErrInvalidEvent) || !synclayer.IsPermanent(err) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v; want a permanent ErrInvalidEvent saying %q", err, tc.want)
			}
			if rep.OK() || !errors.Is(rep.Err(), synclayer.ErrInvalidEvent) {
				t.Fatalf("report.Err() = %v, want the same error", rep.Err())
			}
		})
	}
	if fakes[0].CallCount() != 0 {
		t.Fatal("an invalid event reached the connector")
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
