package synclayer_test

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/idempotency"
	"github.com/hmsplatform/synclayer/synclayertest"
	"golang.org/x/sync/errgroup"
)

// The benchmarks measure the library's own work per event: no-op connectors,
// the memory store, no observer. Compare them with the baselines in the same
// run (go test -bench . -benchmem -count 6 | benchstat).

var noop = synclayer.ConnectorFunc(func(context.Context, synclayer.Record) error { return nil })

var idMapper = synclayer.MapperFunc(func(_ context.Context, ev synclayer.Event) (synclayer.Record, error) {
	return synclayer.Record{Key: ev.Subject}, nil
})

func benchDispatcher(b *testing.B, conns int, opts ...synclayer.Option) *synclayer.Dispatcher {
	return benchDispatcherWith(b, conns, append([]synclayer.Option{synclayer.WithObserver(synclayer.NoObserver)}, opts...)...)
}

// benchDispatcherWith is benchDispatcher with only the given options: no
// options means the library's defaults (slog observer, memory log).
func benchDispatcherWith(b *testing.B, conns int, opts ...synclayer.Option) *synclayer.Dispatcher {
	reg := new(synclayer.Registry)
	for i := range conns {
		if err := reg.Register(fmt.Sprint("c", i), noop, synclayer.Route("E", idMapper), synclayer.WithConcurrency(1024)); err != nil {
			b.Fatal(err)
		}
	}
	return synclayertest.NewDispatcher(b, reg, opts...)
}

func ids(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = "evt-" + strconv.Itoa(i)
	}
	return out
}

func reportRate(b *testing.B, conns int) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*conns), "ns/route")
}

func BenchmarkDispatch(b *testing.B) {
	for _, conns := range []int{1, 3} {
		b.Run(fmt.Sprintf("connectors=%d", conns), func(b *testing.B) {
			benchSequential(b, benchDispatcher(b, conns), conns)
		})
		b.Run(fmt.Sprintf("connectors=%d/nolog", conns), func(b *testing.B) {
			benchSequential(b, benchDispatcher(b, conns, synclayer.WithDeliveryLog(synclayer.NoDeliveryLog)), conns)
		})
		b.Run(fmt.Sprintf("connectors=%d/defaults", conns), func(b *testing.B) {
			benchSequential(b, benchDispatcherWith(b, conns), conns)
		})
	}
}

func benchSequential(b *testing.B, d *synclayer.Dispatcher, conns int) {
	idv := ids(b.N)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if _, err := d.Dispatch(ctx, synclayer.Event{ID: idv[i], Type: "E", Subject: idv[i]}); err != nil {
			b.Fatal(err)
		}
	}
	reportRate(b, conns)
}

func BenchmarkDispatchParallel(b *testing.B) {
	for _, conns := range []int{1, 3} {
		b.Run(fmt.Sprintf("connectors=%d", conns), func(b *testing.B) {
			dispatchParallel(b, benchDispatcher(b, conns))
			reportRate(b, conns)
			b.ReportMetric(float64(runtime.GOMAXPROCS(0)), "procs")
		})
	}
}

// dispatchParallel dispatches b.N events of type E, each with a new ID and
// subject, from GOMAXPROCS goroutines at once.
func dispatchParallel(b *testing.B, d *synclayer.Dispatcher) {
	idv := ids(b.N)
	var next sync.Mutex
	n := 0
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			next.Lock()
			id := idv[n]
			n++
			next.Unlock()
			if _, err := d.Dispatch(ctx, synclayer.Event{ID: id, Type: "E", Subject: id}); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkDispatchOverhead: parallel Dispatch, three no-op connectors, as
// BenchmarkDispatchParallel, with a store that does nothing, no delivery
// log and no ledger: the dispatcher's own work per event, the ceiling the
// stores and the log can only lower.
func BenchmarkDispatchOverhead(b *testing.B) {
	dispatchParallel(b, benchDispatcher(b, 3, synclayer.WithStore(nothingStore{}),
		synclayer.WithDeliveryLog(synclayer.NoDeliveryLog), synclayer.WithLedger(synclayer.NoLedger)))
	reportRate(b, 3)
}

// nothingStore acquires every claim and keeps nothing.
type nothingStore struct{}

func (nothingStore) Claim(context.Context, idempotency.Claim) (idempotency.ClaimResult, error) {
	return idempotency.ClaimResult{Status: idempotency.ClaimAcquired, Token: "t"}, nil
}

func (nothingStore) Complete(context.Context, idempotency.Claim, string) error { return nil }

func (nothingStore) Release(context.Context, idempotency.Claim, string) error { return nil }

// BenchmarkBaselineChannels: three buffered channels with one worker each,
// the cheapest fan-out there is (no results, no idempotency, no retries).
func BenchmarkBaselineChannels(b *testing.B) {
	var wg sync.WaitGroup
	chans := make([]chan synclayer.Event, 3)
	for i := range chans {
		chans[i] = make(chan synclayer.Event, 1024)
		wg.Go(func() {
			for ev := range chans[i] {
				_ = noop(context.Background(), synclayer.Record{Key: ev.Subject})
			}
		})
	}
	idv := ids(b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		ev := synclayer.Event{ID: idv[i], Type: "E", Subject: idv[i]}
		for _, c := range chans {
			c <- ev
		}
	}
	for _, c := range chans {
		close(c)
	}
	wg.Wait()
	reportRate(b, 3)
}

// BenchmarkBaselineErrgroup: an errgroup per event, one goroutine per
// connector, waiting for all: the naive concurrent fan-out.
func BenchmarkBaselineErrgroup(b *testing.B) {
	idv := ids(b.N)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		ev := synclayer.Event{ID: idv[i], Type: "E", Subject: idv[i]}
		var g errgroup.Group
		for range 3 {
			g.Go(func() error { return noop(ctx, synclayer.Record{Key: ev.Subject}) })
		}
		if err := g.Wait(); err != nil {
			b.Fatal(err)
		}
	}
	reportRate(b, 3)
}

// BenchmarkDispatchHeap reports the live heap after b.N unique events
// (run it with -benchtime 1000000x): with the memory store and log bounded,
// it stays flat however many events pass.
func BenchmarkDispatchHeap(b *testing.B) {
	d := benchDispatcher(b, 3)
	ctx := context.Background()
	var ms runtime.MemStats
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		id := "evt-" + strconv.Itoa(i)
		if _, err := d.Dispatch(ctx, synclayer.Event{ID: id, Type: "E", Subject: id}); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "heapMB")
	runtime.KeepAlive(d)
}

// BenchmarkMemoryStore: one Claim and one Complete per op, each for a new
// event and key, on three connectors in turn: the store's share of a route.
func BenchmarkMemoryStore(b *testing.B) {
	benchMemoryStore(b, new(synclayer.MemoryStore), 0)
}

// BenchmarkMemoryStoreFull: BenchmarkMemoryStore on a store already at its
// bound (100,000 entries), so that every op forgets the oldest done-marker
// and version: the steady state of a long run.
func BenchmarkMemoryStoreFull(b *testing.B) {
	benchMemoryStore(b, &synclayer.MemoryStore{MaxEntries: 100_000}, 200_000)
}

// benchMemoryStore runs BenchmarkMemoryStore's ops on s after fill ops
// untimed.
func benchMemoryStore(b *testing.B, s *synclayer.MemoryStore, fill int) {
	idv := ids(fill + b.N)
	conns := []string{"c0", "c1", "c2"}
	var next atomic.Int64
	ctx := context.Background()
	op := func(i int) error {
		c := idempotency.Claim{Connector: conns[i%3], Key: idv[i], EventID: idv[i], LeaseTTL: time.Minute, Retention: 7 * 24 * time.Hour}
		cr, err := s.Claim(ctx, c)
		if err != nil {
			return fmt.Errorf("claim %d: %w", i, err)
		}
		if cr.Status != idempotency.ClaimAcquired {
			return fmt.Errorf("claim %d: %v, want acquired", i, cr.Status)
		}
		return s.Complete(ctx, c, cr.Token)
	}
	for i := range fill {
		if err := op(i); err != nil {
			b.Fatal(err)
		}
	}
	next.Store(int64(fill))
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := op(int(next.Add(1) - 1)); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkMemoryLog: the two Puts of a route (in progress, then synced)
// per op, each for a new event, into a default log, full after the first
// 10,000 ops (20,000 records): from then on each Put forgets the oldest
// record.
func BenchmarkMemoryLog(b *testing.B) { benchMemoryLog(b, 0) }

// BenchmarkMemoryLogDeadLetters: BenchmarkMemoryLog with 1,000 dead
// letters waiting in the log, as when a partner refused a batch.
func BenchmarkMemoryLogDeadLetters(b *testing.B) { benchMemoryLog(b, 1000) }

func benchMemoryLog(b *testing.B, dead int) {
	l := new(synclayer.MemoryLog)
	ctx := context.Background()
	for _, id := range ids(dead) {
		if err := l.Put(ctx, synclayer.Delivery{EventID: "dead-" + id, EventType: "E", Connector: "c0", State: synclayer.StatusDead}); err != nil {
			b.Fatal(err)
		}
	}
	idv := ids(b.N)
	now := time.Now()
	var next atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := int(next.Add(1) - 1)
			dl := synclayer.Delivery{EventID: idv[i], EventType: "E", Connector: "c0", Key: idv[i], State: synclayer.StatusInProgress, FirstAttempt: now, Updated: now}
			if err := l.Put(ctx, dl); err != nil {
				b.Error(err)
				return
			}
			dl.State, dl.Attempts, dl.LastAttempt = synclayer.StatusSynced, 1, now
			if err := l.Put(ctx, dl); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkLogCost: what the default memory log adds to an in-process
// fan-out to three connectors. Two dispatchers, one with the default log
// and one with none, take turns on blocks of the same events, so that both
// see the same machine. It reports each one's time per event, and the
// log's cost in percent of the dispatcher without it: the median over the
// pairs of blocks, which a burst of load from elsewhere does not move.
//
// The share depends on how full the memory stores are, since the store's
// claims and completes slow down as its maps outgrow the caches while the
// log stays the same size. store=fresh starts from empty stores, which a
// short run keeps far below their bound; store=full first fills both
// stores past their default bound (1,000,000 done-markers and keys), the
// steady state of a long-running process, where every claim also forgets
// the oldest entries. The full pair is filled once per test process and
// kept for the later rounds of b.N, each round on events not seen before.
func BenchmarkLogCost(b *testing.B) {
	b.Run("store=fresh", func(b *testing.B) {
		withLog := benchDispatcher(b, 3)
		noLog := benchDispatcher(b, 3, synclayer.WithDeliveryLog(synclayer.NoDeliveryLog))
		benchLogCost(b, withLog, noLog, ids(b.N))
	})
	b.Run("store=full", func(b *testing.B) {
		full := fullLogCostPair(b)
		idv := make([]string, b.N)
		for i := range idv {
			full.next++
			idv[i] = "evt-" + strconv.Itoa(full.next)
		}
		benchLogCost(b, full.withLog, full.noLog, idv)
	})
}

// logCostPair is BenchmarkLogCost's pair of dispatchers with full stores.
type logCostPair struct {
	withLog, noLog *synclayer.Dispatcher
	next           int // the last event number used
}

var (
	fullPairOnce sync.Once
	fullPair     logCostPair
)

// fullLogCostPair builds the pair once, filling each store with 400,000
// events of three routes (1,200,000 claims and completes, past the
// default bound of 1,000,000) before any timing.
func fullLogCostPair(b *testing.B) *logCostPair {
	fullPairOnce.Do(func() {
		fullPair.withLog = benchDispatcher(b, 3)
		fullPair.noLog = benchDispatcher(b, 3, synclayer.WithDeliveryLog(synclayer.NoDeliveryLog))
		ctx := context.Background()
		for fullPair.next < 400_000 {
			fullPair.next++
			id := "evt-" + strconv.Itoa(fullPair.next)
			for _, d := range []*synclayer.Dispatcher{fullPair.withLog, fullPair.noLog} {
				if _, err := d.Dispatch(ctx, synclayer.Event{ID: id, Type: "E", Subject: id}); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	return &fullPair
}

// benchLogCost dispatches idv, one event per op, on withLog and noLog in
// turns of blocks, and reports the log's cost (see BenchmarkLogCost).
func benchLogCost(b *testing.B, withLog, noLog *synclayer.Dispatcher, idv []string) {
	ctx := context.Background()
	const block = 200
	var took [2]time.Duration // with the log, without
	var ratios []float64      // per pair of blocks: with the log ÷ without
	b.ReportAllocs()
	b.ResetTimer()
	for from := 0; from < b.N; from += block {
		to := min(from+block, b.N)
		var pair [2]time.Duration
		for turn := range 2 {
			which := (from/block + turn) % 2 // who goes first alternates
			d := [2]*synclayer.Dispatcher{withLog, noLog}[which]
			start := time.Now()
			for _, id := range idv[from:to] {
				if _, err := d.Dispatch(ctx, synclayer.Event{ID: id, Type: "E", Subject: id}); err != nil {
					b.Fatal(err)
				}
			}
			pair[which] = time.Since(start)
			took[which] += pair[which]
		}
		ratios = append(ratios, float64(pair[0])/float64(pair[1]))
	}
	slices.Sort(ratios)
	b.ReportMetric(float64(took[0].Nanoseconds())/float64(b.N), "log-ns/event")
	b.ReportMetric(float64(took[1].Nanoseconds())/float64(b.N), "nolog-ns/event")
	b.ReportMetric(100*(ratios[len(ratios)/2]-1), "log-cost-%")
}

// BenchmarkMapJSON: MapJSON decoding a small event payload, the mapper
// most routes use.
func BenchmarkMapJSON(b *testing.B) {
	type payload struct {
		Key     string `json:"key"`
		Version int64  `json:"version"`
		Title   string `json:"title"`
	}
	m := synclayer.MapJSON(func(_ context.Context, _ synclayer.Event, p payload) (synclayer.Record, error) {
		return synclayer.Record{Key: p.Key, Version: p.Version}, nil
	})
	ev := synclayer.Event{ID: "evt-1", Type: "E", Data: []byte(`{"key":"K-1234","version":17,"title":"Workflow WF-123 deployed","starts":"2026-11-30T10:00:00Z"}`)}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.Map(ctx, ev); err != nil {
			b.Fatal(err)
		}
	}
}
