package synclayertest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/hmsplatform/synclayer"
)

// storeTwoDispatchers is TestStore's TwoDispatchers rule: two Dispatchers,
// as two processes would, each with its own store instance over one
// namespace, receive the same 1,000 events concurrently. Every partner
// record is written exactly once, and for each event one dispatcher reports
// it synced and the other a duplicate.
func storeTwoDispatchers(t *testing.T, s *storeSuite) {
	var mu sync.Mutex
	writes := map[string]int{}
	partner := synclayer.ConnectorFunc(func(ctx context.Context, rec synclayer.Record) error {
		time.Sleep(time.Millisecond) // the partner's latency widens the race
		mu.Lock()
		writes[rec.Key]++
		mu.Unlock()
		return nil
	})
	mapper := synclayer.MapperFunc(func(ctx context.Context, ev synclayer.Event) (synclayer.Record, error) {
		return synclayer.Record{Key: ev.Subject}, nil
	})
	newDispatcher := func() *synclayer.Dispatcher {
		reg := new(synclayer.Registry)
		if err := reg.Register("partner", partner, synclayer.Route("ThingChanged", mapper)); err != nil {
			t.Fatal(err)
		}
		return NewDispatcher(t, reg, synclayer.WithStore(s.store(t)), synclayer.WithObserver(synclayer.NoObserver))
	}
	ds := []*synclayer.Dispatcher{newDispatcher(), newDispatcher()}

	const n = 1000
	type outcome struct {
		status synclayer.Status
		err    error
	}
	results := make([][2]outcome, n)
	// No deadline of its own: how long 2,000 dispatches take depends on the
	// database and the machine's load, not on the store's correctness; the
	// test binary's -timeout bounds a store that hangs.
	ctx := t.Context()
	sem := make(chan struct{}, 8) // events in flight, each at both dispatchers
	var wg sync.WaitGroup
	for i := range n {
		ev := synclayer.Event{ID: fmt.Sprintf("evt-%d", i), Type: "ThingChanged", Subject: fmt.Sprintf("rec-%d", i)}
		sem <- struct{}{}
		var pair sync.WaitGroup
		for j, d := range ds {
			pair.Add(1)
			wg.Go(func() {
				defer pair.Done()
				rep, err := d.Dispatch(ctx, ev)
				o := outcome{err: err}
				if len(rep.Results) == 1 {
					o.status = rep.Results[0].Status
				}
				results[i][j] = o
			})
		}
		wg.Go(func() { pair.Wait(); <-sem })
	}
	wg.Wait()

	for i, r := range results {
		for j, o := range r {
			if o.err != nil {
				t.Errorf("event %d at dispatcher %d: %v", i, j, o.err)
			}
		}
		synced, dup := 0, 0
		for _, o := range r {
			switch o.status {
			case synclayer.StatusSynced:
				synced++
			case synclayer.StatusDuplicate:
				dup++
			}
		}
		if synced != 1 || dup != 1 {
			t.Errorf("event %d: statuses %v and %v, want one synced and one duplicate", i, r[0].status, r[1].status)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(writes) != n {
		t.Errorf("%d partner records written, want %d", len(writes), n)
	}
	for key, w := range writes {
		if w != 1 {
			t.Errorf("partner record %s written %d times, want once", key, w)
		}
	}
}
