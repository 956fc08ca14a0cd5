package sqlstore_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/idempotency/internal/storetest"
	"github.com/hmsplatform/synclayer/idempotency/sqlstore"
	"github.com/hmsplatform/synclayer/synclayertest"
)

// openLog opens a delivery log over table, migrates it, and drops the
// table at the end of the test (once, whoever opened it first).
func openLog(t testing.TB, b backend, table string, dropped *sync.Map, opts ...sqlstore.Option) (*sqlstore.Log, *sql.DB) {
	t.Helper()
	return openMigrated(t, b, table, dropped, func(db *sql.DB) (*sqlstore.Log, error) {
		l, err := sqlstore.NewLog(db, b.dialect, table, opts...)
		if err == nil {
			t.Cleanup(func() { l.Close() })
		}
		return l, err
	})
}

// TestLogConformance runs synclayertest.TestDeliveryLog on every backend.
func TestLogConformance(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		t.Parallel()
		var dropped sync.Map
		synclayertest.TestDeliveryLog(t, func(t *testing.T, ns string) synclayer.DeliveryLog {
			l, _ := openLog(t, b, ns, &dropped)
			return l
		})
	})
}

// Several processes starting at once migrate the same log table (with the
// longest table name allowed, so the index names are the longest too):
// all succeed, the table works, and migrating again is a no-op. The three
// indexes exist.
func TestLogMigrateConcurrently(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		table := uniqueTable("sqllogmig")
		table += strings.Repeat("x", 57-len(table))
		t.Cleanup(func() { dropTable(t, b, table) })
		logs, db := migrateConcurrently(t, b, table, 6, func(db *sql.DB) (*sqlstore.Log, error) {
			return sqlstore.NewLog(db, b.dialect, table)
		})
		d := synclayer.Delivery{EventID: "e", Connector: "c", State: synclayer.StatusSynced, Updated: time.Now()}
		if err := logs[2].Put(context.Background(), d); err != nil {
			t.Fatalf("Put after concurrent migrations: %v", err)
		}
		got, err := logs[4].List(context.Background(), synclayer.DeliveryFilter{})
		if err != nil || len(got) != 1 {
			t.Fatalf("List after concurrent migrations: %d entries, %v", len(got), err)
		}
		for _, l := range logs {
			l.Close()
		}
		if want, got := []string{table + "_c", table + "_e", table + "_u"}, indexNames(t, b, db, table); !slices.Equal(got, want) {
			t.Errorf("indexes of %s = %q, want %q", table, got, want)
		}
	})
}

// indexNames lists the secondary indexes of table, sorted.
func indexNames(t *testing.T, b backend, db *sql.DB, table string) []string {
	t.Helper()
	var q string
	switch b.name {
	case "postgres":
		q = "SELECT indexname FROM pg_indexes WHERE tablename = '" + table + "' AND indexname NOT LIKE '%_pkey'"
	case "mariadb":
		q = "SELECT DISTINCT index_name FROM information_schema.statistics WHERE table_schema = DATABASE() AND table_name = '" + table + "' AND index_name <> 'PRIMARY'"
	case "sqlite":
		q = "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = '" + table + "' AND name NOT LIKE 'sqlite_autoindex%'"
	}
	rows, err := db.Query(q)
	if err != nil {
		t.Fatalf("list indexes: %v", err)
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Cleanup removes, in batches, the outcomes (and abandoned in-progress
// entries) older than the retention; it keeps pending entries always, and
// dead or failed ones until the separate dead-letter retention, which is
// off by default.
func TestLogCleanup(t *testing.T) {
	states := []synclayer.Status{synclayer.StatusPending, synclayer.StatusInProgress, synclayer.StatusSynced,
		synclayer.StatusDuplicate, synclayer.StatusStale, synclayer.StatusFailed, synclayer.StatusDead}
	ages := []time.Duration{time.Minute, 80 * time.Minute, 2 * time.Hour, 5 * time.Hour}
	eachBackend(t, func(t *testing.T, b backend) {
		table := uniqueTable("sqllogcl")
		var dropped sync.Map
		plain, _ := openLog(t, b, table, &dropped, sqlstore.WithCleanupBatch(3))
		withDead, _ := openLog(t, b, table, &dropped, sqlstore.WithCleanupBatch(3), sqlstore.WithDeadRetention(90*time.Minute))
		ctx := context.Background()
		now := time.Now()
		for _, st := range states {
			for _, age := range ages {
				d := synclayer.Delivery{EventID: fmt.Sprintf("%s-%v", st, age), EventType: "T", Connector: "c",
					Key: "k", State: st, Updated: now.Add(-age)}
				if err := plain.Put(ctx, d); err != nil {
					t.Fatal(err)
				}
			}
		}
		remaining := func() []string {
			got, err := plain.List(ctx, synclayer.DeliveryFilter{Limit: 1000})
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, d := range got {
				ids = append(ids, d.EventID)
			}
			slices.Sort(ids)
			return ids
		}
		expect := func(keep func(st synclayer.Status, age time.Duration) bool) []string {
			var ids []string
			for _, st := range states {
				for _, age := range ages {
					if keep(st, age) {
						ids = append(ids, fmt.Sprintf("%s-%v", st, age))
					}
				}
			}
			slices.Sort(ids)
			return ids
		}
		final := func(st synclayer.Status) bool {
			return st != synclayer.StatusPending && st != synclayer.StatusDead && st != synclayer.StatusFailed
		}
		dead := func(st synclayer.Status) bool {
			return st == synclayer.StatusDead || st == synclayer.StatusFailed
		}

		// Retention of an hour, no dead-letter retention: the outcomes
		// of 80 minutes, 2 and 5 hours go (4 states x 3 ages = 12, in
		// four batches of 3 and a last empty one).
		n, err := plain.Cleanup(ctx, time.Hour)
		if err != nil || n != 12 {
			t.Fatalf("Cleanup(1h) = %d, %v; want 12 entries deleted", n, err)
		}
		if got, want := remaining(), expect(func(st synclayer.Status, age time.Duration) bool {
			return !final(st) || age < time.Hour
		}); !slices.Equal(got, want) {
			t.Errorf("after Cleanup(1h): %q\nwant %q", got, want)
		}
		if n, err := plain.Cleanup(ctx, time.Hour); err != nil || n != 0 {
			t.Errorf("Cleanup(1h) again = %d, %v; want 0", n, err)
		}

		// With a dead-letter retention of 90 minutes, the dead and failed
		// entries of 2 and 5 hours go too, but not those of 80 minutes.
		// A retention longer than that (3h) protects them as well.
		if n, err := withDead.Cleanup(ctx, 3*time.Hour); err != nil || n != 2 {
			t.Errorf("Cleanup(3h) with dead retention 90m = %d, %v; want 2 (the dead and failed of 5h)", n, err)
		}
		if n, err := withDead.Cleanup(ctx, time.Hour); err != nil || n != 2 {
			t.Errorf("Cleanup(1h) with dead retention 90m = %d, %v; want 2 (the dead and failed of 2h)", n, err)
		}
		if got, want := remaining(), expect(func(st synclayer.Status, age time.Duration) bool {
			return st == synclayer.StatusPending || (dead(st) && age < 90*time.Minute) || age < time.Hour
		}); !slices.Equal(got, want) {
			t.Errorf("after Cleanup with dead retention: %q\nwant %q", got, want)
		}
		if n, err := plain.Cleanup(ctx, 0); err != nil || n != 0 {
			t.Errorf("Cleanup(0) = %d, %v; want nothing deleted", n, err)
		}
		cancelled, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := plain.Cleanup(cancelled, time.Nanosecond); !errors.Is(err, context.Canceled) {
			t.Errorf("Cleanup with a cancelled context: %v, want context.Canceled", err)
		}
	})
}

// Beyond the suite: the event's bytes come back exact even when they are
// not JSON (Data that is not valid, or not UTF-8), and an event ID of
// bytes that are not UTF-8 comes back exact in the entry and its event.
// The Data is stored as JSON text when it is compact JSON, so that it
// reads as itself in the table.
func TestLogEventBytesExact(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		var dropped sync.Map
		table := uniqueTable("sqllogev")
		l, db := openLog(t, b, table, &dropped)
		ctx := context.Background()
		cases := []struct {
			id   string
			data string
		}{
			{"compact", `{"a":[1,2],"s":"<é>"}`},
			{"spaced", "{ \"a\" : 1 }\n"},
			{"not-json", `{"a":`},
			{"not-utf8", "{\"a\":\"\xff\xfe\"}"},
			{"binary", "\x00\x01\x02\xff"},
			{"id-\xff\xfe-not-utf8", `{}`},
		}
		for _, c := range cases {
			ev := &synclayer.Event{ID: c.id, Type: "T\xff", Data: json.RawMessage(c.data), Time: time.Unix(1700000000, 123456789)}
			d := synclayer.Delivery{EventID: c.id, EventType: ev.Type, Connector: "c", State: synclayer.StatusDead, Updated: time.Now(), Event: ev}
			if err := l.Put(ctx, d); err != nil {
				t.Fatalf("%q: Put: %v", c.id, err)
			}
			got, err := l.List(ctx, synclayer.DeliveryFilter{EventID: c.id})
			if err != nil || len(got) != 1 || got[0].Event == nil {
				t.Fatalf("%q: List = %v, %v", c.id, got, err)
			}
			g := got[0]
			if g.EventID != c.id || g.Event.ID != c.id || g.Event.Type != ev.Type || string(g.Event.Data) != c.data || !g.Event.Time.Equal(ev.Time) {
				t.Errorf("%q: came back as id %q, event id %q, type %q, data %q, time %v", c.id, g.EventID, g.Event.ID, g.Event.Type, g.Event.Data, g.Event.Time)
			}
		}
		var stored string
		if err := db.QueryRow("SELECT event_json FROM " + table + " WHERE event_hash IS NOT NULL AND event_json LIKE '%<é>%'").Scan(&stored); err != nil {
			t.Fatalf("read the stored event: %v", err)
		}
		if !strings.Contains(stored, `"data":{"a":[1,2],"s":"<é>"}`) {
			t.Errorf("compact JSON Data stored as %s, want it as itself", stored)
		}
	})
}

// A dead letter and a held route survive a restart of a Dispatcher with a
// PostgreSQL store and a PostgreSQL log: see storetest.Restart.
func TestLogDeadLetterSurvivesRestart(t *testing.T) {
	b := backends[0]
	if b.name != "postgres" {
		t.Fatal("backends[0] is not PostgreSQL")
	}
	storeTable, logTable := uniqueTable("sqllogrs"), uniqueTable("sqllogrl")
	var dropped sync.Map
	storetest.Restart(t, func(t *testing.T) (synclayer.Store, synclayer.DeliveryLog) {
		store, _ := openStore(t, b, storeTable, &dropped)
		log, _ := openLog(t, b, logTable, &dropped)
		return store, log
	})
}

// BenchmarkLogPut measures Put of a realistic entry into the SQL log
// beside the same Put into a MemoryLog (see storetest.BenchLogPut).
func BenchmarkLogPut(b *testing.B) {
	eachBackend(b, func(b *testing.B, be backend) {
		var dropped sync.Map
		l, _ := openLog(b, be, uniqueTable("sqllogbench"), &dropped)
		storetest.BenchLogPut(b, l, "sql")
	})
}

// RunJanitor cleans the log periodically: an old synced entry goes within
// a few rounds, a pending one stays; cancelling stops the janitor with the
// context's error.
func TestLogRunJanitor(t *testing.T) {
	b := backends[2] // SQLite: no server needed
	var dropped sync.Map
	l, _ := openLog(t, b, uniqueTable("sqllogjan"), &dropped)
	storetest.LogJanitor(t, l, l, func(ctx context.Context, onErr func(error)) error {
		return l.RunJanitor(ctx, 10*time.Millisecond, time.Hour, onErr)
	})
}

// BenchmarkDispatchWithLog measures one event dispatched to one connector
// through a PostgreSQL store, with the delivery log in PostgreSQL beside
// the default MemoryLog, interleaved in the same run: the dispatcher puts
// two entries per route (in progress, then the outcome), so the SQL log
// adds two round trips to the store's two. It reports both times and the
// rate with the SQL log as a fraction of the rate with the memory log
// ("of-memory-log-rate").
func BenchmarkDispatchWithLog(b *testing.B) {
	be := backends[0]
	var dropped sync.Map
	storeTable, logTable := uniqueTable("sqllogbds"), uniqueTable("sqllogbdl")
	store, _ := openStore(b, be, storeTable, &dropped)
	log, _ := openLog(b, be, logTable, &dropped)
	newDispatcher := func(l synclayer.DeliveryLog) *synclayer.Dispatcher {
		return synclayertest.NewDispatcher(b, storetest.Records(b, storetest.Accept), synclayer.WithStore(store), synclayer.WithDeliveryLog(l), synclayer.WithObserver(synclayer.NoObserver))
	}
	withMem, withSQL := newDispatcher(new(synclayer.MemoryLog)), newDispatcher(log)
	ctx := context.Background()
	var memT, sqlT time.Duration
	b.ResetTimer()
	for i := range b.N {
		for j, d := range []*synclayer.Dispatcher{withMem, withSQL} {
			ev := synclayer.Event{ID: fmt.Sprintf("evt-%d-%d", i, j), Type: "WorkflowDeployed",
				Subject: fmt.Sprintf("WF-%d-%d", i, j), Data: json.RawMessage(`{"title":"Night shift"}`)}
			t0 := time.Now()
			if _, err := d.Dispatch(ctx, ev); err != nil {
				b.Fatal(err)
			}
			if j == 0 {
				memT += time.Since(t0)
			} else {
				sqlT += time.Since(t0)
			}
		}
	}
	b.StopTimer()
	storetest.ReportVs(b, b.N, "memory-log-ns", memT, "sql-log-ns", sqlT, "of-memory-log-rate")
}
