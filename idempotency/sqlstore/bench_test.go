package sqlstore_test

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/idempotency"
	"github.com/hmsplatform/synclayer/idempotency/internal/storetest"
	"github.com/hmsplatform/synclayer/idempotency/sqlstore"
	"github.com/hmsplatform/synclayer/internal/benchrun"
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
// on the same pool), interleaved in the same run (see
// storetest.BenchCycle for what it reports).
func BenchmarkCycle(b *testing.B) {
	eachBackend(b, func(b *testing.B, be backend) {
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
		storetest.BenchCycle(b, s, func(ctx context.Context, i int) error {
			id := sha256.Sum256([]byte("record-" + strconv.Itoa(i)))
			_, err := up.ExecContext(ctx, id[:], int64(i))
			return err
		})
	})
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
	return spread(b, n, conc, func(i int64) error {
		c := idempotency.Claim{Connector: "bench", Key: prefix + strconv.FormatInt(i, 10), EventID: prefix + "e" + strconv.FormatInt(i, 10),
			Version: i, LeaseTTL: time.Minute, Retention: time.Hour}
		r, err := s.Claim(ctx, c)
		if err != nil || r.Status != idempotency.ClaimAcquired {
			return fmt.Errorf("claim: %v, %v", r.Status, err)
		}
		return s.Complete(ctx, c, r.Token)
	})
}

// spread runs f(1) to f(n) from conc goroutines and returns the time
// taken; the first error fails b.
func spread(b *testing.B, n, conc int, f func(i int64) error) time.Duration {
	took, err := benchrun.Spread(conc, 1, int64(n)+1, f)
	if err != nil {
		b.Error(err)
	}
	return took
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
