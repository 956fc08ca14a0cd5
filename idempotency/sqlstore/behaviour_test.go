package sqlstore_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/idempotency"
	"github.com/hmsplatform/synclayer/idempotency/internal/storetest"
	"github.com/hmsplatform/synclayer/idempotency/sqlstore"
)

// New and NewLog refuse table names that are not plain identifiers, at
// construction, before any SQL is built from them, and a nil pool or
// dialect.
func TestConstructorsRefuseBadConfig(t *testing.T) {
	db := memoryDB(t)
	for _, c := range []struct {
		name string
		new  func(*sql.DB, *sqlstore.Dialect, string) error
	}{
		{"New", func(db *sql.DB, d *sqlstore.Dialect, table string) error {
			_, err := sqlstore.New(db, d, table)
			return err
		}},
		{"NewLog", func(db *sql.DB, d *sqlstore.Dialect, table string) error {
			_, err := sqlstore.NewLog(db, d, table)
			return err
		}},
	} {
		for _, name := range []string{"", "1abc", "a-b", "a b", "x; DROP TABLE y", `"quoted"`, `"q"`, "schema.table", "s.t",
			"ünï", strings.Repeat("a", 58), "a\x00"} {
			if err := c.new(db, sqlstore.SQLite, name); !errors.Is(err, sqlstore.ErrInvalidTable) {
				t.Errorf("%s(%q): error %v, want ErrInvalidTable", c.name, name, err)
			}
		}
		for _, name := range []string{"a", "_x", "Sync_Layer_2", strings.Repeat("a", 57)} {
			if err := c.new(db, sqlstore.SQLite, name); err != nil {
				t.Errorf("%s(%q): %v, want success", c.name, name, err)
			}
		}
		if err := c.new(nil, sqlstore.SQLite, "t"); !errors.Is(err, sqlstore.ErrConfig) || !errors.Is(err, synclayer.ErrInvalidOption) {
			t.Errorf("%s(nil db): error %v, want ErrConfig, which is an ErrInvalidOption", c.name, err)
		}
		if err := c.new(db, nil, "t"); !errors.Is(err, sqlstore.ErrConfig) {
			t.Errorf("%s(nil dialect): error %v, want ErrConfig", c.name, err)
		}
	}
}

// Several processes starting at once each migrate the same table: all
// succeed and the table works; migrating again later is a no-op.
func TestMigrateConcurrently(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		table := uniqueTable("sqlmig")
		t.Cleanup(func() { dropTable(t, b, table) })
		stores, _ := migrateConcurrently(t, b, table, 8, func(db *sql.DB) (*sqlstore.Store, error) {
			return sqlstore.New(db, b.dialect, table)
		})
		c := idempotency.Claim{Connector: "c", Key: "k", EventID: "e", LeaseTTL: time.Minute, Retention: time.Hour}
		r, err := stores[3].Claim(context.Background(), c)
		if err != nil || r.Status != idempotency.ClaimAcquired {
			t.Fatalf("claim after concurrent migrations: %v, %v", r.Status, err)
		}
	})
}

// countRows returns the number of rows of table.
func countRows(t *testing.T, db *sql.DB, table string) int {
	t.Helper()
	var n int
	if err := db.QueryRow("SELECT COUNT(*) FROM " + table).Scan(&n); err != nil {
		t.Fatalf("count rows of %s: %v", table, err)
	}
	return n
}

// Cleanup deletes, in bounded batches, the done-markers past their
// retention and the key rows whose lease ended and whose retention passed,
// and nothing that is still live.
func TestCleanup(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		table := uniqueTable("sqlclean")
		var dropped sync.Map
		db := openDB(t, b, table)
		s0, _ := openStore(t, b, table, &dropped)
		_ = s0
		s, err := sqlstore.New(db, b.dialect, table, sqlstore.WithCleanupBatch(3))
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		cycle := func(key, event string, ret time.Duration) {
			c := idempotency.Claim{Connector: "c", Key: key, EventID: event, Version: 1, LeaseTTL: time.Minute, Retention: ret}
			r, err := s.Claim(ctx, c)
			if err != nil || r.Status != idempotency.ClaimAcquired {
				t.Fatalf("claim %s: %v, %v", key, r.Status, err)
			}
			if err := s.Complete(ctx, c, r.Token); err != nil {
				t.Fatal(err)
			}
		}
		for i := range 10 { // 10 key rows + 10 markers, expiring at once
			cycle(fmt.Sprintf("short%d", i), fmt.Sprintf("es%d", i), time.Millisecond)
		}
		cycle("long", "el", time.Hour) // 2 rows that stay
		held := idempotency.Claim{Connector: "c", Key: "held", EventID: "eh", LeaseTTL: time.Hour}
		if r, err := s.Claim(ctx, held); err != nil || r.Status != idempotency.ClaimAcquired {
			t.Fatalf("claim held: %v, %v", r.Status, err)
		}
		if n := countRows(t, db, table); n != 23 {
			t.Fatalf("%d rows before cleanup, want 23", n)
		}
		time.Sleep(5 * time.Millisecond) // let the 1ms retention pass (the store's clock is the database's)
		var deleted int64
		deadline := time.Now().Add(10 * time.Second)
		for deleted < 20 && time.Now().Before(deadline) {
			n, err := s.Cleanup(ctx)
			if err != nil {
				t.Fatal(err)
			}
			deleted += n
		}
		if deleted != 20 {
			t.Fatalf("Cleanup deleted %d rows, want the 20 expired ones", deleted)
		}
		if n := countRows(t, db, table); n != 3 {
			t.Errorf("%d rows after cleanup, want 3 (a live marker, its key, a held lease)", n)
		}
		if r, err := s.Claim(ctx, idempotency.Claim{Connector: "c", Key: "long", EventID: "el", LeaseTTL: time.Minute}); err != nil || r.Status != idempotency.ClaimDone {
			t.Errorf("claim of the live event after cleanup: %v, %v; want done", r.Status, err)
		}
		if r, err := s.Claim(ctx, idempotency.Claim{Connector: "c", Key: "held", EventID: "ex", LeaseTTL: time.Minute}); err != nil || r.Status != idempotency.ClaimBusy {
			t.Errorf("claim of the held key after cleanup: %v, %v; want busy", r.Status, err)
		}
	})
}

// The janitor cleans periodically and stops, leaving no goroutine, when its
// context ends.
func TestRunJanitor(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	b := backends[2] // sqlite: no service needed
	table := uniqueTable("sqljan")
	var dropped sync.Map
	s, db := openStore(t, b, table, &dropped)
	c := idempotency.Claim{Connector: "c", Key: "k", EventID: "e", LeaseTTL: time.Minute, Retention: time.Millisecond}
	r, err := s.Claim(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Complete(context.Background(), c, r.Token); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var roundErrs atomic.Int64
	go func() {
		done <- s.RunJanitor(ctx, 10*time.Millisecond, func(error) { roundErrs.Add(1) })
	}()
	defer cancel()
	deadline := time.Now().Add(10 * time.Second)
	for countRows(t, db, table) != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the janitor did not remove the expired rows within 10s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("RunJanitor returned %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("RunJanitor did not return after its context ended")
	}
	if n := roundErrs.Load(); n != 0 {
		t.Errorf("%d janitor rounds failed", n)
	}
	db.Close()
}

// Killing the database session in the middle of a claim (while the claim
// waits for a table lock another session holds: pg_terminate_backend on
// PostgreSQL, KILL CONNECTION on MariaDB) gives an error, never a false
// "done", and the store works again on a fresh connection.
func TestBackendKilledMidClaim(t *testing.T) {
	type killer struct {
		lock, unlock string // run on one pinned admin connection
		find         string // the blocked claim's session id, by its query text
		kill         string
	}
	killers := map[string]killer{
		"postgres": {
			lock:   "BEGIN; LOCK TABLE %s IN ACCESS EXCLUSIVE MODE",
			unlock: "ROLLBACK",
			find:   `SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'INSERT INTO %s %%'`,
			kill:   "SELECT pg_terminate_backend(%d)",
		},
		"mariadb": {
			lock:   "LOCK TABLES %s WRITE",
			unlock: "UNLOCK TABLES",
			find:   `SELECT id FROM information_schema.processlist WHERE info LIKE 'INSERT INTO %s %%' AND state LIKE '%%lock%%'`,
			kill:   "KILL CONNECTION %d",
		},
	}
	for _, b := range backends[:2] {
		t.Run(b.name, func(t *testing.T) {
			k := killers[b.name]
			table := uniqueTable("sqlkill")
			var dropped sync.Map
			s, _ := openStore(t, b, table, &dropped)
			ctx := context.Background()
			admin := openDB(t, b, table)
			hold := func() func() {
				locker, err := admin.Conn(ctx)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { locker.Close() })
				for _, q := range strings.Split(fmt.Sprintf(k.lock, table), "; ") {
					if _, err := locker.ExecContext(ctx, q); err != nil {
						t.Fatal(err)
					}
				}
				return func() {
					if _, err := locker.ExecContext(ctx, k.unlock); err != nil {
						t.Errorf("unlock: %v", err)
					}
				}
			}
			kill := func() {
				var id int64
				deadline := time.Now().Add(10 * time.Second)
				for {
					err := admin.QueryRow(fmt.Sprintf(k.find, table)).Scan(&id)
					if err == nil {
						break
					}
					if !errors.Is(err, sql.ErrNoRows) {
						t.Fatal(err)
					}
					if time.Now().After(deadline) {
						t.Fatal("the claim never waited for the table lock")
					}
					time.Sleep(10 * time.Millisecond)
				}
				if _, err := admin.Exec(fmt.Sprintf(k.kill, id)); err != nil {
					t.Fatalf("kill session %d: %v", id, err)
				}
			}
			storetest.ClaimKilled(t, s, hold, kill, "sqlstore: "+b.name+" claim")
		})
	}
}

// Keys and event IDs of any bytes and length are hashed into short primary
// keys, and kept exactly as given in the name column, for inspection.
func TestNamesKeptForDisplay(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		table := uniqueTable("sqlnames")
		var dropped sync.Map
		s, db := openStore(t, b, table, &dropped)
		key := strings.Repeat("k\x00'\xff", 2560) // 10 KB, NUL, quote, invalid UTF-8
		event := "évt\x00\"1\""
		c := idempotency.Claim{Connector: "conn'\x00", Key: key, EventID: event, Version: 1, LeaseTTL: time.Minute, Retention: time.Hour}
		r, err := s.Claim(context.Background(), c)
		if err != nil || r.Status != idempotency.ClaimAcquired {
			t.Fatalf("claim: %v, %v", r.Status, err)
		}
		if err := s.Complete(context.Background(), c, r.Token); err != nil {
			t.Fatal(err)
		}
		rows, err := db.Query("SELECT kind, connector, name, length(id) FROM " + table + " ORDER BY kind")
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var got []string
		for rows.Next() {
			var kind string
			var conn, name []byte
			var idLen int
			if err := rows.Scan(&kind, &conn, &name, &idLen); err != nil {
				t.Fatal(err)
			}
			if string(conn) != c.Connector {
				t.Errorf("row %s: connector %q, want %q", kind, conn, c.Connector)
			}
			if idLen > 40 {
				t.Errorf("row %s: primary key of %d bytes, want a short hash", kind, idLen)
			}
			got = append(got, kind+":"+string(name))
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		want := []string{"e:" + event, "k:" + key}
		if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
			t.Errorf("rows (kind:name) = %.60q, want %.60q", got, want)
		}
	})
}
