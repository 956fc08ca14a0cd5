package bench_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/idempotency/redisstore"
	"github.com/hmsplatform/synclayer/idempotency/sqlstore"
	"github.com/hmsplatform/synclayer/internal/testenv"
)

// A storeKind makes a fresh, empty store for one run and removes it at the
// end of the benchmark.
type storeKind struct {
	name string
	open func(tb testing.TB, run string) synclayer.Store
}

var (
	memoryStore   = storeKind{"memory", func(testing.TB, string) synclayer.Store { return new(synclayer.MemoryStore) }}
	postgresStore = storeKind{"postgres", openPostgres}
	sqliteStore   = storeKind{"sqlite", openSQLite}
	redisStore    = storeKind{"redis", openRedisStore}
)

// sqlPool sizes the pool of a SQL store as sqlstore's doc says.
func sqlPool(db *sql.DB) {
	db.SetMaxOpenConns(32)
	db.SetMaxIdleConns(32)
}

func openPostgres(tb testing.TB, run string) synclayer.Store {
	return openSQL(tb, "pgx", testenv.Postgres.Need(tb), sqlstore.Postgres, run)
}

func openSQLite(tb testing.TB, run string) synclayer.Store {
	dsn := "file:" + filepath.Join(tb.TempDir(), "bench.db") + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)"
	return openSQL(tb, "sqlite", dsn, sqlstore.SQLite, run)
}

func openSQL(tb testing.TB, driver, dsn string, dialect *sqlstore.Dialect, table string) synclayer.Store {
	db, err := sql.Open(driver, dsn)
	if err != nil {
		tb.Fatal(err)
	}
	sqlPool(db)
	store, err := sqlstore.New(db, dialect, table)
	if err != nil {
		db.Close()
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		store.Close()
		if _, err := db.Exec("DROP TABLE IF EXISTS " + table); err != nil {
			tb.Errorf("drop %s: %v", table, err)
		}
		db.Close()
	})
	if err := store.Migrate(context.Background()); err != nil {
		tb.Fatal(err)
	}
	return store
}

func openRedisStore(tb testing.TB, run string) synclayer.Store {
	rdb := redisClient(tb)
	prefix := "bench:" + run + ":"
	store, err := redisstore.New(rdb, redisstore.WithPrefix(prefix))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		// Registered after redisClient's Close, so it runs before it.
		ctx := context.Background()
		iter := rdb.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		var keys []string
		for iter.Next(ctx) {
			keys = append(keys, iter.Val())
			if len(keys) == 1000 {
				rdb.Unlink(ctx, keys...)
				keys = keys[:0]
			}
		}
		if len(keys) > 0 {
			rdb.Unlink(ctx, keys...)
		}
		if err := iter.Err(); err != nil {
			tb.Errorf("delete keys %s*: %v", prefix, err)
		}
	})
	return store
}
