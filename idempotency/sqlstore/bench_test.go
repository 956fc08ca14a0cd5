package sqlstore_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/hmsplatform/synclayer"
)

// rawUpsert is the baseline: one upsert of a row by a 32-byte key through
// the same driver, the cheapest write that could record a push.
var rawUpsert = map[string]string{
	"postgres": "INSERT INTO %s (id, v) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET v = EXCLUDED.v",
	"mariadb":  "INSERT INTO %s (id, v) VALUES (?, ?) ON DUPLICATE KEY UPDATE v = VALUES(v)",
	"sqlite":   "INSERT INTO %s (id, v) VALUES (?1, ?2) ON CONFLICT (id) DO UPDATE SET v = excluded.v",
}

var rawTable = map[string]string{
	"postgres": "CREATE TABLE %s (id bytea PRIMARY KEY, v bigint NOT NULL)",
	"mariadb":  "CREATE TABLE %s (id BINARY(32) PRIMARY KEY, v BIGINT NOT NULL) ENGINE=InnoDB",
	"sqlite":   "CREATE TABLE %s (id BLOB PRIMARY KEY, v INTEGER NOT NULL) WITHOUT ROWID",
}

// BenchmarkCycle measures a claim-then-complete cycle of the store (two
// statements) beside the raw driver doing one equivalent upsert (prepared,
// on the same pool), interleaved in the same run. It reports both times
// and the store's rate as a fraction of the raw single-upsert rate
// ("of-raw-rate"; 0.5 is the cost of exactly two round trips).
func BenchmarkCycle(b *testing.B) {
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			table := uniqueTable("sqlbench")
			var dropped sync.Map
			s, db := openStore(b, be, table, &dropped)
			raw := table + "_raw"
			if _, err := db.Exec(fmt.Sprintf(rawTable[be.name], raw)); err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { db.Exec("DROP TABLE IF EXISTS " + raw) })
			up, err := db.Prepare(fmt.Sprintf(rawUpsert[be.name], raw))
			if err != nil {
				b.Fatal(err)
			}
			defer up.Close()
			ctx := context.Background()
			var rawT, cycleT, claimT time.Duration
			b.ResetTimer()
			for i := range b.N {
				key := "record-" + strconv.Itoa(i)
				id := sha256.Sum256([]byte(key))
				t0 := time.Now()
				if _, err := up.ExecContext(ctx, id[:], int64(i)); err != nil {
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
		})
	}
}
