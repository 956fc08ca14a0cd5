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

// memoryDB opens an in-memory SQLite database, closed at the end of the
// test, for tests of the constructors, which do not touch it.
func memoryDB(t testing.TB) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file::memory:")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// openStore opens a store over table, migrates it, and drops the table at
// the end of the test (once, whoever opened it first).
func openStore(t testing.TB, b backend, table string, dropped *sync.Map, opts ...sqlstore.Option) (*sqlstore.Store, *sql.DB) {
	t.Helper()
	return openMigrated(t, b, table, dropped, func(db *sql.DB) (*sqlstore.Store, error) {
		return sqlstore.New(db, b.dialect, table, opts...)
	})
}

// openMigrated opens a store or log of table through newM on a pool of its
// own, and migrates it (see migrated).
func openMigrated[M interface{ Migrate(context.Context) error }](t testing.TB, b backend, table string, dropped *sync.Map, newM func(*sql.DB) (M, error)) (M, *sql.DB) {
	t.Helper()
	db := openDB(t, b, table)
	m, err := newM(db)
	if err != nil {
		t.Fatal(err)
	}
	migrated(t, b, table, dropped, m)
	return m, db
}

// migrateConcurrently opens procs stores or logs of table through newM,
// each on a pool of its own as separate processes would have, migrates
// them all at once, and fails t unless each Migrate, and one more on the
// first, succeeds. It returns them and the last one's pool.
func migrateConcurrently[M interface{ Migrate(context.Context) error }](t *testing.T, b backend, table string, procs int, newM func(*sql.DB) (M, error)) ([]M, *sql.DB) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make([]error, procs)
	ms := make([]M, procs)
	var db *sql.DB
	for i := range procs {
		db = openDB(t, b, table)
		m, err := newM(db)
		if err != nil {
			t.Fatal(err)
		}
		ms[i] = m
		wg.Go(func() { errs[i] = m.Migrate(context.Background()) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("process %d: Migrate: %v", i, err)
		}
	}
	if err := ms[0].Migrate(context.Background()); err != nil {
		t.Errorf("Migrate again: %v", err)
	}
	return ms, db
}

// migrated migrates m, the store or log of table, and drops the table at
// the end of the test (once, whoever migrated it first).
func migrated(t testing.TB, b backend, table string, dropped *sync.Map, m interface{ Migrate(context.Context) error }) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := m.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if _, loaded := dropped.LoadOrStore(table, true); !loaded {
		t.Cleanup(func() { dropTable(t, b, table) })
	}
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
func TestConformance(t *testing.T) { conformance(t) }

// TestConformanceUnbatched runs synclayertest.TestStore on every backend
// with group commit off (WithMaxBatch(NoGroupCommit)), the single-statement path.
func TestConformanceUnbatched(t *testing.T) {
	conformance(t, sqlstore.WithMaxBatch(sqlstore.NoGroupCommit))
}

// conformance runs synclayertest.TestStore on every backend, with stores
// made with opts.
func conformance(t *testing.T, opts ...sqlstore.Option) {
	eachBackend(t, func(t *testing.T, b backend) {
		t.Parallel()
		var dropped sync.Map
		synclayertest.TestStore(t, func(t *testing.T, ns string) synclayer.Store {
			s, db := openStore(t, b, ns, &dropped, opts...)
			return breakable{s, db}
		})
	})
}

func uniqueTable(prefix string) string {
	return fmt.Sprintf("%s_%d", prefix, time.Now().UnixNano()%1e12)
}

// eachBackend runs f as a subtest (or sub-benchmark) for each backend,
// named after it.
func eachBackend[T interface{ Run(string, func(T)) bool }](t T, f func(t T, b backend)) {
	for _, b := range backends {
		t.Run(b.name, func(t T) { f(t, b) })
	}
}
