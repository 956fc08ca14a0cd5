package storetest

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/idempotency"
)

// BenchHash is the payload hash the benchmarks' claims carry, as the
// Dispatcher's do: a store that is a ledger writes it with Complete.
const BenchHash = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

// BenchCycle measures claim-then-complete cycles of s, each on its own
// key ("record-i") and event, beside raw(ctx, i), the server's cheapest
// write that could record a push of that key, interleaved in the same run.
// It reports the time per raw write ("raw-upsert-ns"), per cycle, claim
// and complete, the medians of cycles and completes, and the store's rate
// as a fraction of the raw write's ("of-raw-rate"; 0.5 is the cost of
// exactly two round trips).
func BenchCycle(b *testing.B, s synclayer.Store, raw func(ctx context.Context, i int) error) {
	ctx := context.Background()
	var rawT, cycleT, claimT time.Duration
	cycles, completes := make([]time.Duration, 0, b.N), make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		t0 := time.Now()
		if err := raw(ctx, i); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		c := idempotency.Claim{Connector: "bench", Key: "record-" + strconv.Itoa(i), EventID: "evt-" + strconv.Itoa(i),
			Version: int64(i + 1), LeaseTTL: time.Minute, Retention: time.Hour, Hash: BenchHash}
		r, err := s.Claim(ctx, c)
		if err != nil || r.Status != idempotency.ClaimAcquired {
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
	ReportVs(b, b.N, "raw-upsert-ns", rawT, "cycle-ns", cycleT, "of-raw-rate")
	b.ReportMetric(float64(claimT.Nanoseconds())/float64(b.N), "claim-ns")
	b.ReportMetric(float64((cycleT-claimT).Nanoseconds())/float64(b.N), "complete-ns")
	ReportMedian(b, "cycle-p50-ns", cycles)
	ReportMedian(b, "complete-p50-ns", completes)
}
