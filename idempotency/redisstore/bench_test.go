package redisstore_test

import (
	"context"
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
	b.ResetTimer()
	for i := range b.N {
		key := "record-" + strconv.Itoa(i)
		t0 := time.Now()
		if err := client.Set(ctx, prefix+"raw:"+key, i, time.Hour).Err(); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		c := synclayer.Claim{Connector: "bench", Key: key, EventID: "evt-" + strconv.Itoa(i),
			Version: int64(i + 1), LeaseTTL: time.Minute, Retention: time.Hour}
		r, err := s.Claim(ctx, c)
		if err != nil || r.Status != synclayer.ClaimAcquired {
			b.Fatalf("claim: %v, %v", r.Status, err)
		}
		claimT += time.Since(t1)
		if err := s.Complete(ctx, c, r.Token); err != nil {
			b.Fatal(err)
		}
		t2 := time.Now()
		rawT += t1.Sub(t0)
		cycleT += t2.Sub(t1)
	}
	b.StopTimer()
	n := float64(b.N)
	b.ReportMetric(float64(rawT.Nanoseconds())/n, "raw-upsert-ns")
	b.ReportMetric(float64(cycleT.Nanoseconds())/n, "cycle-ns")
	b.ReportMetric(float64(claimT.Nanoseconds())/n, "claim-ns")
	b.ReportMetric(float64(rawT)/float64(cycleT), "of-raw-rate")
}
