package redisstore_test

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/idempotency/redisstore"
	"github.com/hmsplatform/synclayer/internal/testenv"
)

// benchStore opens a store under a fresh prefix, batched or not, over a
// client with go-redis's default pool.
func benchStore(b *testing.B, batched bool) *redisstore.Store {
	b.Helper()
	client := redis.NewClient(&redis.Options{Addr: testenv.Redis.Need(b)})
	b.Cleanup(func() { client.Close() })
	prefix := "synclayerbench:" + strconv.FormatInt(time.Now().UnixNano(), 36) + ":"
	removePrefix(b, prefix)
	s, err := redisstore.New(client, redisstore.WithPrefix(prefix))
	if err != nil {
		b.Fatal(err)
	}
	if !batched {
		redisstore.Unbatched(s)
	}
	return s
}

var modes = []struct {
	name    string
	batched bool
}{{"batched", true}, {"unbatched", false}}

// BenchmarkCycleParallel runs claim-then-complete cycles (distinct keys and
// events) from 16 and 64 goroutines, with group commit and without it
// (each call its own EVALSHA round trip, as before), in the same run.
// It reports cycles/s and, when batched, the operations per round trip.
func BenchmarkCycleParallel(b *testing.B) {
	for _, g := range []int{16, 64} {
		for _, m := range modes {
			b.Run(fmt.Sprintf("goroutines=%d/%s", g, m.name), func(b *testing.B) {
				s := benchStore(b, m.batched)
				ctx := context.Background()
				var next atomic.Int64
				var wg sync.WaitGroup
				b.ResetTimer()
				for range g {
					wg.Go(func() {
						for {
							i := next.Add(1) - 1
							if i >= int64(b.N) {
								return
							}
							c := synclayer.Claim{Connector: "bench", Key: "record-" + strconv.FormatInt(i, 10),
								EventID: "evt-" + strconv.FormatInt(i, 10), Version: i + 1,
								LeaseTTL: time.Minute, Retention: time.Hour}
							r, err := s.Claim(ctx, c)
							if err != nil || r.Status != synclayer.ClaimAcquired {
								b.Errorf("claim: %v, %v", r.Status, err)
								return
							}
							if err := s.Complete(ctx, c, r.Token); err != nil {
								b.Error(err)
								return
							}
						}
					})
				}
				wg.Wait()
				b.StopTimer()
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "cycles/s")
				if st := redisstore.Stats(s); st.Rounds > 0 {
					b.ReportMetric(float64(st.Ops)/float64(st.Rounds), "ops/round")
				}
			})
		}
	}
}

// publishNothing is a Publisher that drops announcements, so that each
// event also costs the announcement's claim and complete.
type publishNothing struct{}

func (publishNothing) Publish(context.Context, synclayer.Event) error { return nil }

// BenchmarkDispatch16 is the store's share of the durable path: 16
// goroutines Dispatch events (distinct IDs and keys) to one no-op
// connector, with a publisher, so each event costs four store calls (claim
// and complete of the route, then of the announcement). The same run
// measures the memory store, this store batched, and unbatched.
func BenchmarkDispatch16(b *testing.B) {
	noop := synclayer.ConnectorFunc(func(context.Context, synclayer.Record) error { return nil })
	mapper := synclayer.MapperFunc(func(_ context.Context, ev synclayer.Event) (synclayer.Record, error) {
		return synclayer.Record{Key: ev.Subject}, nil
	})
	stores := []struct {
		name string
		open func(b *testing.B) synclayer.Store
	}{
		{"memory", func(*testing.B) synclayer.Store { return synclayer.NewMemoryStore() }},
		{"redis-batched", func(b *testing.B) synclayer.Store { return benchStore(b, true) }},
		{"redis-unbatched", func(b *testing.B) synclayer.Store { return benchStore(b, false) }},
	}
	for _, st := range stores {
		b.Run("store="+st.name, func(b *testing.B) {
			reg := synclayer.NewRegistry()
			if err := reg.Register("partner", noop, synclayer.Route("E", mapper), synclayer.WithConcurrency(1024)); err != nil {
				b.Fatal(err)
			}
			d := synclayer.NewDispatcher(reg, synclayer.WithStore(st.open(b)),
				synclayer.WithObserver(nil), synclayer.WithPublisher(publishNothing{}))
			run := strconv.FormatInt(time.Now().UnixNano(), 36)
			ctx := context.Background()
			var next atomic.Int64
			var wg sync.WaitGroup
			b.ResetTimer()
			for range 16 {
				wg.Go(func() {
					for {
						i := next.Add(1) - 1
						if i >= int64(b.N) {
							return
						}
						id := run + "-" + strconv.FormatInt(i, 10)
						rep, err := d.Dispatch(ctx, synclayer.Event{ID: id, Type: "E", Subject: "rec-" + id})
						if err != nil || len(rep.Results) != 1 || rep.Results[0].Status != synclayer.StatusSynced {
							b.Errorf("dispatch %s: %+v, %v", id, rep.Results, err)
							return
						}
					}
				})
			}
			wg.Wait()
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
