package sqlstore_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/idempotency/sqlstore"
	"github.com/hmsplatform/synclayer/internal/testenv"
	"github.com/hmsplatform/synclayer/synclayertest"
)

// backend is one database the tests run against.
type backend struct {
	name    string
	driver  string
	dialect *sqlstore.Dialect
	// dsn returns the DSN for a store over table; for SQLite, a file
	// shared by every store of the same table within one test.
	dsn func(t testing.TB, table string) string
}

var backends = []backend{
	{"postgres", "pgx", sqlstore.Postgres, func(t testing.TB, _ string) string { return testenv.Postgres.Need(t) }},
	{"mariadb", "mysql", sqlstore.MariaDB, func(t testing.TB, _ string) string { return testenv.MySQL.Need(t) }},
	{"sqlite", "sqlite", sqlstore.SQLite, sqliteDSN},
}

var sqliteFiles sync.Map // table -> file path

func sqliteDSN(t testing.TB, table string) string {
	path, _ := sqliteFiles.LoadOrStore(table, filepath.Join(t.TempDir(), table+".db"))
	return "file:" + path.(string) + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)"
}

// openDB opens a pool of the backend and closes it at the end of the test.
func openDB(t testing.TB, b backend, table string) *sql.DB {
	t.Helper()
	db, err := sql.Open(b.driver, b.dsn(t, table))
	if err != nil {
		t.Fatalf("open %s: %v", b.name, err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// openStore opens a store over table, migrates it, and drops the table at
// the end of the test (once, whoever opened it first).
func openStore(t testing.TB, b backend, table string, dropped *sync.Map) (*sqlstore.Store, *sql.DB) {
	t.Helper()
	db := openDB(t, b, table)
	s, err := sqlstore.New(db, b.dialect, table)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if _, loaded := dropped.LoadOrStore(table, true); !loaded {
		t.Cleanup(func() { dropTable(t, b, table) })
	}
	return s, db
}

func dropTable(t testing.TB, b backend, table string) {
	if b.name == "sqlite" {
		return // the file goes with t.TempDir
	}
	db, err := sql.Open(b.driver, b.dsn(t, table))
	if err != nil {
		t.Errorf("drop %s: %v", table, err)
		return
	}
	defer db.Close()
	if _, err := db.Exec("DROP TABLE IF EXISTS " + table); err != nil {
		t.Errorf("drop %s: %v", table, err)
	}
}

// breakable offers synclayertest.BreakableStore: breaking closes the pool.
type breakable struct {
	*sqlstore.Store
	db *sql.DB
}

func (b breakable) BreakConnection(t *testing.T) {
	if err := b.db.Close(); err != nil {
		t.Fatalf("close pool: %v", err)
	}
}

// TestConformance runs synclayertest.TestStore on every backend.
func TestConformance(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			var dropped sync.Map
			synclayertest.TestStore(t, func(t *testing.T, ns string) synclayer.Store {
				s, db := openStore(t, b, ns, &dropped)
				return breakable{s, db}
			})
		})
	}
}

// TestConformanceUnbatched runs synclayertest.TestStore on every backend
// with group commit off (WithMaxBatch(1)), the single-statement path.
func TestConformanceUnbatched(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			var dropped sync.Map
			synclayertest.TestStore(t, func(t *testing.T, ns string) synclayer.Store {
				_, db := openStore(t, b, ns, &dropped)
				s, err := sqlstore.New(db, b.dialect, ns, sqlstore.WithMaxBatch(1))
				if err != nil {
					t.Fatal(err)
				}
				return breakable{s, db}
			})
		})
	}
}

func uniqueTable(prefix string) string {
	return fmt.Sprintf("%s_%d", prefix, time.Now().UnixNano()%1e12)
}
