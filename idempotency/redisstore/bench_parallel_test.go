package redisstore_test

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/idempotency"
	"github.com/hmsplatform/synclayer/idempotency/internal/storetest"
	"github.com/hmsplatform/synclayer/idempotency/redisstore"
	"github.com/hmsplatform/synclayer/internal/benchrun"
	"github.com/hmsplatform/synclayer/synclayertest"
)

// The concurrency benchmarks compare contenders in one run, interleaved:
// each does b.N items, in turns of benchTurn items, so that the load of
// a shared machine weighs on all alike. Each reports its own rate, and
// the ratios are reported beside them.

const benchTurn = 250

// contender is one side of a comparison: do runs items [from, to) with g
// goroutines.
type contender struct {
	name string
	do   func(b *testing.B, from, to int64)
	took time.Duration
}

// interleave runs every contender over b.N items, turn by turn.
func interleave(b *testing.B, cs []*contender) {
	b.ResetTimer()
	for done := int64(0); done < int64(b.N); done += benchTurn {
		to := min(done+benchTurn, int64(b.N))
		for _, c := range cs {
			t0 := time.Now()
			c.do(b, done, to)
			c.took += time.Since(t0)
		}
	}
	b.StopTimer()
}

func (c *contender) rate(n int) float64 { return float64(n) / c.took.Seconds() }

// parallel runs f(i) for i in [from, to) on g goroutines; the first
// error fails b.
func parallel(b *testing.B, g int, from, to int64, f func(i int64) error) {
	if _, err := benchrun.Spread(g, from, to, f); err != nil {
		b.Error(err)
	}
}

// benchStore opens a store under a fresh prefix, batched or not, over a
// client with go-redis's default pool.
func benchStore(b *testing.B, batched bool) *redisstore.Store {
	b.Helper()
	s := openPrefixed(b, newClient(b), uniquePrefix(b))
	if !batched {
		redisstore.Unbatched(s)
	}
	return s
}

// BenchmarkCycleParallel runs claim-then-complete cycles (distinct keys and
// events) from 1 (every call a lone call), 16 and 64 goroutines, with group commit ("batched") and
// without it ("unbatched": each call its own EVALSHA round trip, as
// before), interleaved in one run. It reports both rates in cycles/s, the
// batched one as a multiple of the unbatched one, and the operations per
// round trip of the batched store.
func BenchmarkCycleParallel(b *testing.B) {
	for _, g := range []int{1, 16, 64} {
		b.Run("goroutines="+strconv.Itoa(g), func(b *testing.B) {
			ctx := context.Background()
			cycles := func(s *redisstore.Store) func(b *testing.B, from, to int64) {
				return func(b *testing.B, from, to int64) {
					parallel(b, g, from, to, func(i int64) error {
						n := strconv.FormatInt(i, 10)
						c := idempotency.Claim{Connector: "bench", Key: "record-" + n, EventID: "evt-" + n,
							Version: i + 1, LeaseTTL: time.Minute, Retention: time.Hour}
						r, err := s.Claim(ctx, c)
						if err != nil || r.Status != idempotency.ClaimAcquired {
							return fmt.Errorf("claim: %v, %w", r.Status, err)
						}
						return s.Complete(ctx, c, r.Token)
					})
				}
			}
			batched, unbatched := benchStore(b, true), benchStore(b, false)
			cb := &contender{name: "batched", do: cycles(batched)}
			cu := &contender{name: "unbatched", do: cycles(unbatched)}
			interleave(b, []*contender{cb, cu})
			b.ReportMetric(cb.rate(b.N), "batched-cycles/s")
			b.ReportMetric(cu.rate(b.N), "unbatched-cycles/s")
			b.ReportMetric(cb.rate(b.N)/cu.rate(b.N), "batched/unbatched")
			st := redisstore.Stats(batched)
			b.ReportMetric(float64(st.Ops)/float64(max(st.Rounds, 1)), "ops/round")
		})
	}
}

// BenchmarkDispatch16 is the store's share of the durable path: 16
// goroutines Dispatch events (distinct IDs and keys) to one no-op
// connector, with a publisher, so each event costs four store calls (claim
// and complete of the route, then of the announcement). The memory store,
// this store batched and this store unbatched run interleaved in one run;
// the Redis rates are also reported as fractions of the memory store's.
func BenchmarkDispatch16(b *testing.B) {
	ctx := context.Background()
	run := strconv.FormatInt(time.Now().UnixNano(), 36)
	dispatch := func(store synclayer.Store) func(b *testing.B, from, to int64) {
		reg := storetest.Records(b, storetest.Accept, synclayer.WithConcurrency(1024))
		d := synclayertest.NewDispatcher(b, reg, synclayer.WithStore(store),
			synclayer.WithObserver(synclayer.NoObserver), synclayer.WithPublisher(storetest.Discard{}))
		return func(b *testing.B, from, to int64) {
			parallel(b, 16, from, to, func(i int64) error {
				id := run + "-" + strconv.FormatInt(i, 10)
				rep, err := d.Dispatch(ctx, synclayer.Event{ID: id, Type: "WorkflowDeployed", Subject: "rec-" + id})
				if err != nil || len(rep.Results) != 1 || rep.Results[0].Status != synclayer.StatusSynced {
					return fmt.Errorf("dispatch %s: %+v, %w", id, rep.Results, err)
				}
				return nil
			})
		}
	}
	batched := benchStore(b, true)
	cm := &contender{name: "memory", do: dispatch(new(synclayer.MemoryStore))}
	cb := &contender{name: "redis-batched", do: dispatch(batched)}
	cu := &contender{name: "redis-unbatched", do: dispatch(benchStore(b, false))}
	interleave(b, []*contender{cm, cb, cu})
	for _, c := range []*contender{cm, cb, cu} {
		b.ReportMetric(c.rate(b.N), c.name+"-events/s")
	}
	b.ReportMetric(cb.rate(b.N)/cm.rate(b.N), "batched/memory")
	b.ReportMetric(cu.rate(b.N)/cm.rate(b.N), "unbatched/memory")
	st := redisstore.Stats(batched)
	b.ReportMetric(float64(st.Ops)/float64(max(st.Rounds, 1)), "ops/round")
}
