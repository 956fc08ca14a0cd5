package synclayer_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/synclayertest"
)

// keyMapper maps an event to the record named by its Subject, versioned by
// the "version" field of its Data when present.
var keyMapper = synclayer.MapperFunc(func(_ context.Context, ev synclayer.Event) (synclayer.Record, error) {
	var d struct {
		Version int64 `json:"version"`
	}
	if len(ev.Data) > 0 {
		if err := json.Unmarshal(ev.Data, &d); err != nil {
			return synclayer.Record{}, err
		}
	}
	return synclayer.Record{Key: ev.Subject, Version: d.Version, Payload: string(ev.Data)}, nil
})

func event(id, subject string, version int64) synclayer.Event {
	return synclayer.Event{
		ID:      id,
		Type:    "WorkflowDeployed",
		Subject: subject,
		Data:    json.RawMessage(fmt.Sprintf(`{"version":%d}`, version)),
	}
}

// fastRetry retries quickly so tests outside a synctest bubble stay short.
var fastRetry = synclayer.RetryPolicy{MaxAttempts: 5, InitialInterval: time.Millisecond, MaxInterval: 5 * time.Millisecond, MaxElapsed: 10 * time.Second}

// newFakes registers n fakes named p0..pn-1 for WorkflowDeployed.
func newFakes(t *testing.T, n int, opts ...synclayer.ConnectorOption) (*synclayer.Registry, []*synclayertest.Fake) {
	t.Helper()
	reg := new(synclayer.Registry)
	fakes := make([]*synclayertest.Fake, n)
	for i := range fakes {
		fakes[i] = synclayertest.NewFake()
		o := append([]synclayer.ConnectorOption{synclayer.Route("WorkflowDeployed", keyMapper), synclayer.WithRetry(fastRetry)}, opts...)
		if err := reg.Register(fmt.Sprintf("p%d", i), fakes[i], o...); err != nil {
			t.Fatal(err)
		}
	}
	return reg, fakes
}

// newFakeDispatcher registers n fakes as newFakes does and returns a
// dispatcher over them with no observer, the start of most tests here.
func newFakeDispatcher(t *testing.T, n int, opts ...synclayer.ConnectorOption) (*synclayer.Dispatcher, []*synclayertest.Fake) {
	t.Helper()
	reg, fakes := newFakes(t, n, opts...)
	return synclayertest.NewDispatcher(t, reg, synclayer.WithObserver(synclayer.NoObserver)), fakes
}

// recordingPublisher keeps published events; it fails while failing is set.
type recordingPublisher struct {
	mu      sync.Mutex
	events  []synclayer.Event
	failing error
}

func (p *recordingPublisher) Publish(_ context.Context, ev synclayer.Event) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.failing != nil {
		return p.failing
	}
	p.events = append(p.events, ev)
	return nil
}

func (p *recordingPublisher) Events() []synclayer.Event {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]synclayer.Event(nil), p.events...)
}

func statuses(rep synclayer.Report) []string {
	out := make([]string, len(rep.Results))
	for i, r := range rep.Results {
		out[i] = r.Connector + ":" + r.Status.String()
	}
	return out
}

// wantStatuses fails the test unless rep's results are want, each
// "connector:status", in order; what names the dispatch in the message.
func wantStatuses(t *testing.T, what string, rep synclayer.Report, want ...string) {
	t.Helper()
	if diff := cmp.Diff(want, statuses(rep)); diff != "" {
		t.Fatalf("%s (-want +got):\n%s", what, diff)
	}
}

// wantOneCallEach fails the test unless every fake was called exactly once.
func wantOneCallEach(t *testing.T, fakes []*synclayertest.Fake) {
	t.Helper()
	for i, f := range fakes {
		if n := f.CallCount(); n != 1 {
			t.Errorf("p%d called %d times, want 1", i, n)
		}
	}
}

// nilWithin waits for a nil error from ch, failing the test with the error
// it receives, or with stuck when nothing comes within d (the bound of a
// call that must not block, not a timing of it).
func nilWithin(t *testing.T, ch <-chan error, d time.Duration, stuck string) {
	t.Helper()
	select {
	case err := <-ch:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(d):
		t.Fatal(stuck)
	}
}

// goDispatch dispatches ev on d in a goroutine of its own, and returns
// where its report comes.
func goDispatch(d *synclayer.Dispatcher, ev synclayer.Event) <-chan synclayer.Report {
	done := make(chan synclayer.Report, 1)
	go func() { rep, _ := d.Dispatch(context.Background(), ev); done <- rep }()
	return done
}

// pausedOnStore registers one fake as newFakes does and returns a
// dispatcher over it on store and a fresh durable log, its connector p0
// paused: the start of the tests of a drain that meets a failing store.
func pausedOnStore(t *testing.T, store synclayer.Store) (*synclayer.Dispatcher, []*synclayertest.Fake) {
	t.Helper()
	reg, fakes := newFakes(t, 1)
	d := synclayertest.NewDispatcher(t, reg, synclayer.WithObserver(synclayer.NoObserver), synclayer.WithStore(store),
		synclayer.WithDeliveryLog(durableLog{new(synclayer.MemoryLog)}))
	must(t, d.Pause("p0"))
	return d, fakes
}

// pausedRunOnStore is pausedOnStore under Run: it also starts Run on the
// dispatcher, stopped when the test ends, and returns Run's handler.
func pausedRunOnStore(t *testing.T, store synclayer.Store) (*synclayer.Dispatcher, []*synclayertest.Fake, func(context.Context, synclayer.Event) error) {
	t.Helper()
	d, fakes := pausedOnStore(t, store)
	h, stop := runHandler(t, d)
	t.Cleanup(stop)
	return d, fakes, h
}
