package outbox_test

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql" // the "mysql" driver
	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver
	_ "modernc.org/sqlite"             // the "sqlite" driver

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/internal/testenv"
	"github.com/hmsplatform/synclayer/internal/testproc"
	"github.com/hmsplatform/synclayer/outbox"
)

// dbCase is one database the tests run on.
type dbCase struct {
	name    string
	dialect outbox.Dialect
	driver  string
	// dsn returns the service's DSN (skipping t when it is absent), or
	// that of a new SQLite file in t.TempDir(), which other processes may
	// open too.
	dsn func(t testing.TB) string
}

var dbCases = []dbCase{
	{"postgres", outbox.Postgres, "pgx", func(t testing.TB) string { return testenv.Postgres.Need(t) }},
	{"mariadb", outbox.MariaDB, "mysql", func(t testing.TB) string { return testenv.MySQL.Need(t) }},
	{"sqlite", outbox.SQLite, "sqlite", func(t testing.TB) string {
		return "file:" + filepath.Join(t.TempDir(), "outbox.db") +
			"?_pragma=busy_timeout(20000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_txlock=immediate"
	}},
}

// open connects to a new database of the case.
func (c dbCase) open(t testing.TB) *sql.DB { return openDialect(t, c.driver, c.dialect, c.dsn(t)) }

// openDialect connects to dsn with the pool the dialect wants.
func openDialect(t testing.TB, driver string, d outbox.Dialect, dsn string) *sql.DB {
	t.Helper()
	db := openDB(t, driver, dsn)
	if d == outbox.SQLite {
		// SQLite has one writer at a time, and its busy wait is not fair:
		// a small pool makes the writers and the relays queue in order.
		db.SetMaxOpenConns(4)
	}
	return db
}

func openDB(t testing.TB, driver, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(48)
	db.SetMaxIdleConns(48)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		testenv.Unavailable(t, driver, err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// uniqueName returns a table name no other run uses.
func uniqueName(prefix string) string {
	return fmt.Sprintf("%s_%d_%x", prefix, time.Now().UnixNano()%1e9, rand.Uint32())
}

// newOutbox migrates a fresh outbox table in db and drops it at the end.
func newOutbox(t testing.TB, db *sql.DB, d outbox.Dialect, opts ...outbox.Option) *outbox.Outbox {
	t.Helper()
	table := uniqueName("ob")
	o, err := outbox.New(db, d, table, opts...)
	if err != nil {
		t.Fatal(err)
	}
	if err := o.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, _ = db.ExecContext(ctx, "DROP TABLE IF EXISTS "+table)
		if d == outbox.Postgres {
			_, _ = db.ExecContext(ctx, "DROP FUNCTION IF EXISTS "+table+"_notify()")
		}
	})
	return o
}

// recorder is a Publisher that records what it is given, in order.
type recorder struct {
	mu    sync.Mutex
	order []synclayer.Event
	times map[string]int
	fail  func(ev synclayer.Event) error // optional: refuse some
	added chan struct{}
}

func newRecorder() *recorder {
	return &recorder{times: map[string]int{}, added: make(chan struct{}, 1)}
}

func (r *recorder) Publish(_ context.Context, ev synclayer.Event) error {
	if r.fail != nil {
		if err := r.fail(ev); err != nil {
			return err
		}
	}
	r.mu.Lock()
	r.order = append(r.order, ev)
	r.times[ev.ID]++
	r.mu.Unlock()
	select {
	case r.added <- struct{}{}:
	default:
	}
	return nil
}

func (r *recorder) count(id string) int {
	return locked(&r.mu, func() int { return r.times[id] })
}

func (r *recorder) distinct() int {
	return locked(&r.mu, func() int { return len(r.times) })
}

func (r *recorder) events() []synclayer.Event {
	return locked(&r.mu, func() []synclayer.Event { return slices.Clone(r.order) })
}

// writeCommitted writes evs through ob in a transaction of db and commits
// it, failing t at the first error.
func writeCommitted(t testing.TB, ctx context.Context, db *sql.DB, ob *outbox.Outbox, evs ...synclayer.Event) {
	t.Helper()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := ob.Write(ctx, tx, evs...); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}

// startRelay runs o.Relay(pub) until the test ends.
func startRelay(t testing.TB, o *outbox.Outbox, pub synclayer.Publisher) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- o.Relay(ctx, pub) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Relay: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// eachDB runs f on every database, each in a subtest of its own.
func eachDB(t *testing.T, f func(*testing.T, dbCase)) {
	for _, c := range dbCases {
		t.Run(c.name, func(t *testing.T) { f(t, c) })
	}
}

// inParent skips a test inside the crash test's child processes.
func inParent(t *testing.T) {
	testproc.SkipInChild(t, crashEnv)
}

// locked returns f's result, computed while holding mu.
func locked[T any](mu sync.Locker, f func() T) T {
	mu.Lock()
	defer mu.Unlock()
	return f()
}
