package redisstore_test

import (
	"context"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/internal/testenv"
)

// BenchmarkCycle measures a claim-then-complete cycle (two scripts, two
// round trips) beside the raw client doing one equivalent upsert (a SET
// with a TTL) in the same run, interleaved. It reports both times and the
// store's rate as a fraction of the raw single-upsert rate ("of-raw-rate";
// 0.5 is the cost of exactly two round trips).
func BenchmarkCycle(b *testing.B) {
	addr := testenv.Redis.Need(b)
	client := redis.NewClient(&redis.Options{Addr: addr})
	defer client.Close()
	prefix := uniquePrefix(b)
	s := openPrefixed(b, client, prefix)
	ctx := context.Background()
	var rawT, cycleT, claimT time.Duration
	cycles, completes := make([]time.Duration, 0, b.N), make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		key := "record-" + strconv.Itoa(i)
		t0 := time.Now()
		if err := client.Set(ctx, prefix+"raw:"+key, i, time.Hour).Err(); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		c := synclayer.Claim{Connector: "bench", Key: key, EventID: "evt-" + strconv.Itoa(i),
			Version: int64(i + 1), LeaseTTL: time.Minute, Retention: time.Hour, Hash: benchHash}
		r, err := s.Claim(ctx, c)
		if err != nil || r.Status != synclayer.ClaimAcquired {
			b.Fatalf("claim: %v, %v", r.Status, err)
		}
		tc := time.Now()
		claimT += tc.Sub(t1)
		if err := s.Complete(ctx, c, r.Token); err != nil {
			b.Fatal(err)
		}
		t2 := time.Now()
		cycles, completes = append(cycles, t2.Sub(t1)), append(completes, t2.Sub(tc))
		rawT += t1.Sub(t0)
		cycleT += t2.Sub(t1)
	}
	b.StopTimer()
	n := float64(b.N)
	b.ReportMetric(float64(rawT.Nanoseconds())/n, "raw-upsert-ns")
	b.ReportMetric(float64(cycleT.Nanoseconds())/n, "cycle-ns")
	b.ReportMetric(float64(claimT.Nanoseconds())/n, "claim-ns")
	b.ReportMetric(float64((cycleT-claimT).Nanoseconds())/n, "complete-ns")
	reportMedian(b, "cycle-p50-ns", cycles)
	reportMedian(b, "complete-p50-ns", completes)
	b.ReportMetric(float64(rawT)/float64(cycleT), "of-raw-rate")
}

// benchHash is the payload hash the benchmark's claims carry, as the
// Dispatcher's do: a store that is a ledger writes it with Complete.
const benchHash = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

// reportMedian reports the median of ds: unlike the mean, it shrugs off the
// stalls that other processes on a shared machine cause.
func reportMedian(b *testing.B, name string, ds []time.Duration) {
	if len(ds) == 0 {
		return
	}
	slices.Sort(ds)
	b.ReportMetric(float64(ds[len(ds)/2].Nanoseconds()), name)
}
