package sqlstore_test

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/idempotency/sqlstore"
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
			cycles, completes := make([]time.Duration, 0, b.N), make([]time.Duration, 0, b.N)
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
			reportVs(b, "raw-upsert-ns", rawT, "cycle-ns", cycleT, "of-raw-rate")
			b.ReportMetric(float64(claimT.Nanoseconds())/float64(b.N), "claim-ns")
			b.ReportMetric(float64((cycleT-claimT).Nanoseconds())/float64(b.N), "complete-ns")
			reportMedian(b, "cycle-p50-ns", cycles)
			reportMedian(b, "complete-p50-ns", completes)
		})
	}
}

// benchHash is the payload hash the benchmarks' claims carry, as the
// Dispatcher's do: a store that is a ledger writes it with Complete.
const benchHash = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

// reportVs reports the time per operation of a baseline and of another
// way, both run b.N times, and the other's rate as a fraction of the
// baseline's (ratio).
func reportVs(b *testing.B, baseName string, base time.Duration, otherName string, other time.Duration, ratio string) {
	n := float64(b.N)
	b.ReportMetric(float64(base.Nanoseconds())/n, baseName)
	b.ReportMetric(float64(other.Nanoseconds())/n, otherName)
	b.ReportMetric(float64(base)/float64(other), ratio)
}

// storePair opens two stores over one table of db: one with group commit
// and one without, closed at the end of the benchmark.
func storePair(b *testing.B, db *sql.DB, d *sqlstore.Dialect, table string) (batched, single *sqlstore.Store) {
	b.Helper()
	batched, err := sqlstore.New(db, d, table)
	if err != nil {
		b.Fatal(err)
	}
	single, err = sqlstore.New(db, d, table, sqlstore.WithMaxBatch(sqlstore.NoGroupCommit))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		batched.Close()
		single.Close()
	})
	return batched, single
}

// benchPool sizes a benchmark's pool the same for both sides of a
// comparison: enough open and idle connections for the unbatched side's
// goroutines (capped, as the database is shared), so neither side churns.
func benchPool(db *sql.DB) {
	db.SetMaxOpenConns(32)
	db.SetMaxIdleConns(32)
}

// runCycles runs n claim-then-complete cycles on s from conc goroutines,
// each cycle on its own key and event, and returns the time taken.
func runCycles(b *testing.B, s synclayer.Store, prefix string, n, conc int) time.Duration {
	ctx := context.Background()
	return spread(n, conc, func(i int64) bool {
		c := synclayer.Claim{Connector: "bench", Key: prefix + strconv.FormatInt(i, 10), EventID: prefix + "e" + strconv.FormatInt(i, 10),
			Version: i, LeaseTTL: time.Minute, Retention: time.Hour}
		r, err := s.Claim(ctx, c)
		if err != nil || r.Status != synclayer.ClaimAcquired {
			b.Errorf("claim: %v, %v", r.Status, err)
			return false
		}
		if err := s.Complete(ctx, c, r.Token); err != nil {
			b.Error(err)
			return false
		}
		return true
	})
}

// spread runs f(1) to f(n) from conc goroutines and returns the time
// taken; a goroutine stops at the first f that returns false.
func spread(n, conc int, f func(i int64) bool) time.Duration {
	var next atomic.Int64
	var wg sync.WaitGroup
	t0 := time.Now()
	for range conc {
		wg.Go(func() {
			for {
				i := next.Add(1)
				if i > int64(n) || !f(i) {
					return
				}
			}
		})
	}
	wg.Wait()
	return time.Since(t0)
}

// BenchmarkConcurrentCycle measures claim-then-complete cycles from 16 and
// 64 goroutines through the batching store and through the same store with
// group commit off (WithMaxBatch(1): one statement per call, as before),
// on one pool and table, alternating in the same run. It reports the time
// per cycle of each and the batching store's speed-up ("batched-x"). The
// pool is sized (32 open and idle connections) except in the
// "pool=default" runs on PostgreSQL, which keep database/sql's defaults
// (no bound, 2 idle), as an application that sizes nothing.
func BenchmarkConcurrentCycle(b *testing.B) {
	type variant struct {
		conc  int
		sized bool
	}
	for _, be := range backends {
		variants := []variant{{16, true}, {64, true}}
		if be.name == "postgres" {
			variants = append(variants, variant{16, false})
		}
		for _, v := range variants {
			conc := v.conc
			name := fmt.Sprintf("%s/conc=%d", be.name, conc)
			if !v.sized {
				name += "/pool=default"
			}
			b.Run(name, func(b *testing.B) {
				table := uniqueTable("sqlbcc")
				var dropped sync.Map
				_, db := openStore(b, be, table, &dropped)
				if v.sized {
					benchPool(db)
				}
				batched, single := storePair(b, db, be.dialect, table)
				runCycles(b, batched, "warm-b", 2*conc, conc) // prepare on every connection
				runCycles(b, single, "warm-s", 2*conc, conc)
				const rounds = 4
				var bt, st time.Duration
				b.ResetTimer()
				for r := range rounds {
					n := max(b.N/rounds, 1)
					p := fmt.Sprintf("r%d-%d-", r, b.N)
					bt += runCycles(b, batched, "b"+p, n, conc)
					st += runCycles(b, single, "s"+p, n, conc)
				}
				b.StopTimer()
				n := float64(max(b.N/rounds, 1) * rounds)
				b.ReportMetric(float64(bt.Nanoseconds())/n, "batched-ns/cycle")
				b.ReportMetric(float64(st.Nanoseconds())/n, "single-ns/cycle")
				b.ReportMetric(float64(st)/float64(bt), "batched-x")
			})
		}
	}
}

// reportMedian reports the median of ds: unlike the mean, it shrugs off the
// stalls that other processes on a shared machine cause.
func reportMedian(b *testing.B, name string, ds []time.Duration) {
	if len(ds) == 0 {
		return
	}
	slices.Sort(ds)
	b.ReportMetric(float64(ds[len(ds)/2].Nanoseconds()), name)
}
