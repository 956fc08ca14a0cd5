package guarantee

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/bus/memory"
	"github.com/hmsplatform/synclayer/internal/testproc"
	"github.com/hmsplatform/synclayer/internal/testwait"
	"github.com/hmsplatform/synclayer/synclayertest"
)

// countingPublisher counts the announcements it is given and drops them.
type countingPublisher struct{ completed, failed atomic.Int64 }

func (p *countingPublisher) Publish(_ context.Context, ev synclayer.Event) error {
	if ev.Type == synclayer.SyncCompleted {
		p.completed.Add(1)
	} else {
		p.failed.Add(1)
	}
	return nil
}

// heapInUse returns the heap in use after two full collections.
func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}

// Memory bounds of TestMemoryBound, per event pushed, for what a running
// dispatcher retains: with the default memory store, two done-markers per
// event (the route's and the announcement's) for the retention window
// (7 days), and the key's version; the delivery log is bounded at 10,000
// entries whatever the traffic. With MemoryMaxEntries(n) the store is
// bounded too and the heap stops growing.
const (
	maxBytesPerEvent = 600             // default store, everything retained
	maxFlatGrowth    = 8 << 20         // bounded store: second half vs first half
	memoryKeys       = 10_000          // distinct record keys
	memoryBoundedMax = 20_000          // MemoryMaxEntries of the bounded run
	memoryBaseSlack  = 16 << 20        // runtime, bus, log, timers
	memoryDrain      = 2 * time.Minute // bound on one run
)

func memoryEvents() int {
	switch {
	case testing.Short():
		return 20_000
	case testproc.Race: // ten times slower; keeps the package under a minute
		return 100_000
	}
	return 200_000
}

// pushAll runs n unique events (over memoryKeys keys, versions rising)
// through bus/memory and Run with store, and returns the heap in use,
// measured after the first half and at the end while the dispatcher and
// its store are still alive.
func pushAll(t *testing.T, n int, store synclayer.Store) (half, end uint64, pub *countingPublisher) {
	t.Helper()
	ctx := t.Context()
	var pushed atomic.Int64
	conn := synclayer.ConnectorFunc(func(context.Context, synclayer.Record) error {
		pushed.Add(1)
		return nil
	})
	reg := new(synclayer.Registry)
	if err := reg.Register("sink", conn, synclayer.Route("ItemChanged", synclayer.MapJSON(
		func(_ context.Context, _ synclayer.Event, it item) (synclayer.Record, error) {
			return synclayer.Record{Key: it.Key, Version: it.Version}, nil
		}))); err != nil {
		t.Fatal(err)
	}
	pub = &countingPublisher{}
	bus, err := memory.New(memory.WithConcurrency(8), memory.WithBacklog(1024), memory.WithRedeliveryDelay(time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	d := synclayertest.NewDispatcher(t, reg, synclayer.WithStore(store), synclayer.WithPublisher(pub), synclayer.WithObserver(synclayer.NoObserver))
	runCtx, stop := context.WithCancel(ctx)
	runDone := make(chan error, 1)
	go func() { runDone <- d.Run(runCtx, bus) }()
	var once sync.Once
	shutdown := func() {
		once.Do(func() {
			stop()
			if err := <-runDone; err != nil {
				t.Errorf("Run: %v", err)
			}
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			defer cancel()
			if err := bus.Close(cctx); err != nil {
				t.Errorf("bus.Close: %v", err)
			}
		})
	}
	defer shutdown()

	publish := func(from, to int) {
		for i := from; i < to; i++ {
			data := fmt.Appendf(nil, `{"key":"key-%05d","version":%d}`, i%memoryKeys, i/memoryKeys+1)
			ev := synclayer.Event{ID: fmt.Sprintf("mem-%07d", i), Type: "ItemChanged", Data: data}
			// Until Run has subscribed, a full backlog refuses events.
			for deadline := time.Now().Add(memoryDrain); ; time.Sleep(time.Millisecond) {
				err := bus.Publish(ctx, ev)
				if err == nil {
					break
				}
				if !errors.Is(err, memory.ErrBacklogFull) || time.Now().After(deadline) {
					t.Fatalf("publish %d: %v", i, err)
				}
			}
		}
		testwait.For(t, memoryDrain, func() string { return fmt.Sprintf("%d of %d pushed", pushed.Load(), to) },
			func() bool { return pushed.Load() >= int64(to) && pub.completed.Load()+pub.failed.Load() >= int64(to) })
	}
	publish(0, n/2)
	half = heapInUse()
	publish(n/2, n)
	end = heapInUse()
	if got := pushed.Load(); got != int64(n) {
		t.Errorf("%d pushes for %d unique events", got, n)
	}
	for _, st := range d.Status() {
		if st.Synced != int64(n) || st.Duplicate+st.Stale+st.Failed+st.Dead != 0 {
			t.Errorf("status %+v; want %d synced and nothing else", st, n)
		}
	}
	shutdown()
	runtime.KeepAlive(d)
	runtime.KeepAlive(store)
	return half, end, pub
}

// TestMemoryBound pushes 200,000 unique events (100,000 under the race
// detector, 20,000 under -short) through Run, first with the default memory store, whose
// heap must stay under maxBytesPerEvent per event, then with a store
// bounded by MemoryMaxEntries, whose heap must stop growing: the second
// half of the events may add at most maxFlatGrowth. No goroutine may
// remain after shutdown.
func TestMemoryBound(t *testing.T) {
	n := memoryEvents()
	base := heapInUse()

	t.Run("default store", func(t *testing.T) {
		store := new(synclayer.MemoryStore)
		_, end, pub := pushAll(t, n, store)
		done, versions, leases := store.Len()
		grown := int64(end) - int64(base)
		t.Logf("%d events: heap in use grew %.1f MB (%.0f bytes/event); store holds %d done-markers, %d versions, %d leases",
			n, float64(grown)/(1<<20), float64(grown)/float64(n), done, versions, leases)
		if limit := int64(memoryBaseSlack + maxBytesPerEvent*n); grown > limit {
			t.Errorf("heap in use grew %d bytes for %d events; bound %d (%d bytes/event + %d)", grown, n, limit, maxBytesPerEvent, memoryBaseSlack)
		}
		if pub.completed.Load() != int64(n) || pub.failed.Load() != 0 {
			t.Errorf("announced %d SyncCompleted and %d SyncFailed; want %d and 0", pub.completed.Load(), pub.failed.Load(), n)
		}
		if done != 2*n || versions != memoryKeys || leases != 0 {
			t.Errorf("store holds %d done-markers, %d versions, %d leases; want %d, %d, 0", done, versions, leases, 2*n, memoryKeys)
		}
	})

	t.Run("bounded store", func(t *testing.T) {
		store := &synclayer.MemoryStore{MaxEntries: memoryBoundedMax}
		half, end, _ := pushAll(t, n, store)
		done, versions, _ := store.Len()
		t.Logf("%d events: heap in use %.1f MB after half, %.1f MB at the end; store holds %d done-markers, %d versions",
			n, float64(half)/(1<<20), float64(end)/(1<<20), done, versions)
		if grown := int64(end) - int64(half); grown > maxFlatGrowth {
			t.Errorf("heap in use grew %d bytes over the second half; bound %d", grown, maxFlatGrowth)
		}
		if done > memoryBoundedMax+memoryBoundedMax/8 {
			t.Errorf("store holds %d done-markers, over its bound %d", done, memoryBoundedMax)
		}
	})

	goleak.VerifyNone(t)
}
