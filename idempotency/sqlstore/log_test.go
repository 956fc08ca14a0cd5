package sqlstore_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/idempotency/sqlstore"
	"github.com/hmsplatform/synclayer/synclayertest"
)

// openLog opens a delivery log over table, migrates it, and drops the
// table at the end of the test (once, whoever opened it first).
func openLog(t testing.TB, b backend, table string, dropped *sync.Map, opts ...sqlstore.Option) (*sqlstore.Log, *sql.DB) {
	t.Helper()
	db := openDB(t, b, table)
	l, err := sqlstore.NewLog(db, b.dialect, table, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	migrated(t, b, table, dropped, l)
	return l, db
}

// TestLogConformance runs synclayertest.TestDeliveryLog on every backend.
func TestLogConformance(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			var dropped sync.Map
			synclayertest.TestDeliveryLog(t, func(t *testing.T, ns string) synclayer.DeliveryLog {
				l, _ := openLog(t, b, ns, &dropped)
				return l
			})
		})
	}
}

// NewLog refuses what New refuses: table names that are not plain
// identifiers, a nil pool or dialect.
func TestNewLogRefusesBadConfig(t *testing.T) {
	db, err := sql.Open("sqlite", "file::memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, name := range []string{"", "1abc", "a-b", "x; DROP TABLE y", `"q"`, "s.t", strings.Repeat("a", 58)} {
		if _, err := sqlstore.NewLog(db, sqlstore.SQLite, name); !errors.Is(err, sqlstore.ErrInvalidTable) {
			t.Errorf("NewLog(%q): error %v, want ErrInvalidTable", name, err)
		}
	}
	if _, err := sqlstore.NewLog(db, sqlstore.SQLite, strings.Repeat("a", 57)); err != nil {
		t.Errorf("NewLog(57 letters): %v, want success", err)
	}
	if _, err := sqlstore.NewLog(nil, sqlstore.SQLite, "t"); !errors.Is(err, sqlstore.ErrConfig) {
		t.Errorf("NewLog(nil db): error %v, want ErrConfig", err)
	}
	if _, err := sqlstore.NewLog(db, nil, "t"); !errors.Is(err, sqlstore.ErrConfig) {
		t.Errorf("NewLog(nil dialect): error %v, want ErrConfig", err)
	}
}

// Several processes starting at once migrate the same log table (with the
// longest table name allowed, so the index names are the longest too):
// all succeed, the table works, and migrating again is a no-op. The three
// indexes exist.
func TestLogMigrateConcurrently(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			table := uniqueTable("sqllogmig")
			table += strings.Repeat("x", 57-len(table))
			t.Cleanup(func() { dropTable(t, b, table) })
			const procs = 6
			var wg sync.WaitGroup
			errs := make([]error, procs)
			logs := make([]*sqlstore.Log, procs)
			var db *sql.DB
			for i := range procs {
				db = openDB(t, b, table)
				l, err := sqlstore.NewLog(db, b.dialect, table)
				if err != nil {
					t.Fatal(err)
				}
				logs[i] = l
				wg.Go(func() { errs[i] = l.Migrate(context.Background()) })
			}
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Errorf("process %d: Migrate: %v", i, err)
				}
			}
			if err := logs[0].Migrate(context.Background()); err != nil {
				t.Errorf("Migrate again: %v", err)
			}
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
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
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
}

// Beyond the suite: the event's bytes come back exact even when they are
// not JSON (Data that is not valid, or not UTF-8), and an event ID of
// bytes that are not UTF-8 comes back exact in the entry and its event.
// The Data is stored as JSON text when it is compact JSON, so that it
// reads as itself in the table.
func TestLogEventBytesExact(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
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
}

// A dead letter survives a restart: a Dispatcher with a PostgreSQL store
// and a PostgreSQL log pushes to a partner that refuses the record for
// good; a new Dispatcher on the same tables (a restarted process, with the
// partner fixed) lists the dead letter with its event, connector, key,
// error and attempts, and Replay pushes it once. A second Replay pushes
// nothing, and the original event dispatched again is a duplicate. A route
// queued as pending while the connector was paused is likewise pushed by
// the new Dispatcher's Resume.
func TestLogDeadLetterSurvivesRestart(t *testing.T) {
	b := backends[0]
	if b.name != "postgres" {
		t.Fatal("backends[0] is not PostgreSQL")
	}
	storeTable, logTable := uniqueTable("sqllogrs"), uniqueTable("sqllogrl")
	var dropped sync.Map
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	var (
		mu     sync.Mutex
		pushes = map[string]int{} // writes the partner accepted, by key
		broken = true
	)
	partner := synclayer.ConnectorFunc(func(ctx context.Context, rec synclayer.Record) error {
		mu.Lock()
		defer mu.Unlock()
		if broken {
			return synclayer.Permanent(errors.New("records: 422 Unprocessable Entity: field \"owner\" is unknown"))
		}
		pushes[rec.Key]++
		return nil
	})
	mapper := synclayer.MapperFunc(func(ctx context.Context, ev synclayer.Event) (synclayer.Record, error) {
		var v struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(ev.Data, &v); err != nil {
			return synclayer.Record{}, err
		}
		return synclayer.Record{Key: v.ID, Payload: v}, nil
	})
	start := func() *synclayer.Dispatcher {
		store, _ := openStore(t, b, storeTable, &dropped)
		log, _ := openLog(t, b, logTable, &dropped)
		reg := new(synclayer.Registry)
		if err := reg.Register("records", partner, synclayer.Route("WorkflowDeployed", mapper),
			synclayer.WithRetry(synclayer.RetryPolicy{MaxAttempts: 3, InitialInterval: time.Millisecond})); err != nil {
			t.Fatal(err)
		}
		return synclayertest.NewDispatcher(t, reg, synclayer.WithStore(store), synclayer.WithDeliveryLog(log), synclayer.WithObserver(synclayer.NoObserver))
	}

	first := start()
	ev := synclayer.Event{ID: "evt-dead-1", Type: "WorkflowDeployed", Subject: "WF-1",
		Data: json.RawMessage(`{"id":"WF-1","title":"Night shift"}`), Meta: map[string]string{"correlation": "c-1"}}
	rep, err := first.Dispatch(ctx, ev)
	if err == nil || len(rep.Results) != 1 || rep.Results[0].Status != synclayer.StatusFailed {
		t.Fatalf("dispatch to the broken partner: %+v, %v; want one failed result", rep.Results, err)
	}
	if err := first.Pause("records"); err != nil {
		t.Fatal(err)
	}
	held := synclayer.Event{ID: "evt-held-2", Type: "WorkflowDeployed", Data: json.RawMessage(`{"id":"WF-2"}`)}
	if rep, err := first.Dispatch(ctx, held); err != nil || rep.Results[0].Status != synclayer.StatusPending {
		t.Fatalf("dispatch while paused: %+v, %v; want pending", rep.Results, err)
	}

	// The restart: new pools, stores, log and dispatcher; the partner is
	// fixed.
	mu.Lock()
	broken = false
	mu.Unlock()
	second := start()
	dead, err := second.DeadLetters(ctx, synclayer.DeliveryFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(dead) != 1 {
		t.Fatalf("dead letters after the restart: %d, want 1: %+v", len(dead), dead)
	}
	dl := dead[0]
	if dl.EventID != ev.ID || dl.Connector != "records" || dl.Key != "WF-1" || dl.State != synclayer.StatusDead ||
		dl.Attempts != 1 || !strings.Contains(dl.Error, `field "owner" is unknown`) || dl.Event == nil ||
		string(dl.Event.Data) != string(ev.Data) || dl.Event.Meta["correlation"] != "c-1" || dl.LastAttempt.IsZero() {
		t.Errorf("the dead letter after the restart: %+v (event %+v)", dl, dl.Event)
	}

	res, err := second.Replay(ctx, synclayer.DeliveryFilter{Connector: "records"})
	if err != nil || len(res) != 1 || res[0].Status != synclayer.StatusSynced {
		t.Fatalf("Replay: %+v, %v; want one synced result", res, err)
	}
	res, err = second.Replay(ctx, synclayer.DeliveryFilter{})
	if err != nil || len(res) != 0 {
		t.Errorf("second Replay: %+v, %v; want nothing replayed", res, err)
	}
	if rep, err := second.Dispatch(ctx, ev); err != nil || rep.Results[0].Status != synclayer.StatusDuplicate {
		t.Errorf("the replayed event dispatched again: %+v, %v; want duplicate", rep.Results, err)
	}
	got, err := second.Deliveries(ctx, synclayer.DeliveryFilter{EventID: ev.ID})
	if err != nil || len(got) != 1 || got[0].State != synclayer.StatusDuplicate {
		t.Errorf("log entry of the replayed event: %+v, %v", got, err)
	}

	res, err = second.Resume(ctx, "records")
	if err != nil || len(res) != 1 || res[0].Status != synclayer.StatusSynced || res[0].Key != "WF-2" {
		t.Fatalf("Resume after the restart: %+v, %v; want WF-2 synced", res, err)
	}
	mu.Lock()
	defer mu.Unlock()
	if want := map[string]int{"WF-1": 1, "WF-2": 1}; !maps.Equal(pushes, want) {
		t.Errorf("partner writes = %v, want %v", pushes, want)
	}
}

// BenchmarkLogPut measures Put of a realistic entry (a dead letter with
// its event) into the SQL log beside the same Put into a MemoryLog,
// interleaved in the same run. It reports both times per Put and the SQL
// log's rate as a fraction of the memory log's ("of-memory-rate").
func BenchmarkLogPut(b *testing.B) {
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			var dropped sync.Map
			l, _ := openLog(b, be, uniqueTable("sqllogbench"), &dropped)
			mem := new(synclayer.MemoryLog)
			ctx := context.Background()
			ev := &synclayer.Event{ID: "evt", Type: "WorkflowDeployed", Source: "hms/management-layer", Subject: "WF-123",
				Time: time.Now(), Data: json.RawMessage(`{"id":"WF-123","title":"Night shift","steps":[1,2,3]}`),
				Meta: map[string]string{"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}}
			var memT, sqlT time.Duration
			b.ResetTimer()
			for i := range b.N {
				now := time.Now()
				d := synclayer.Delivery{EventID: "evt-" + strconv.Itoa(i), EventType: ev.Type, Connector: "records",
					Key: "WF-" + strconv.Itoa(i%1000), State: synclayer.StatusDead, Attempts: 6, FirstAttempt: now,
					LastAttempt: now, Duration: time.Second, Error: "records: 503 Service Unavailable",
					PayloadHash: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", Updated: now, Event: ev}
				t0 := time.Now()
				if err := mem.Put(ctx, d); err != nil {
					b.Fatal(err)
				}
				t1 := time.Now()
				if err := l.Put(ctx, d); err != nil {
					b.Fatal(err)
				}
				memT += t1.Sub(t0)
				sqlT += time.Since(t1)
			}
			b.StopTimer()
			reportVs(b, "memory-put-ns", memT, "sql-put-ns", sqlT, "of-memory-rate")
		})
	}
}

// RunJanitor cleans the log periodically: an old synced entry goes within
// a few rounds, a pending one stays; cancelling stops the janitor with the
// context's error.
func TestLogRunJanitor(t *testing.T) {
	b := backends[2] // SQLite: no server needed
	var dropped sync.Map
	l, _ := openLog(t, b, uniqueTable("sqllogjan"), &dropped)
	ctx := context.Background()
	old := time.Now().Add(-2 * time.Hour)
	for _, d := range []synclayer.Delivery{
		{EventID: "old-synced", Connector: "c", State: synclayer.StatusSynced, Updated: old},
		{EventID: "old-pending", Connector: "c", State: synclayer.StatusPending, Updated: old},
	} {
		if err := l.Put(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	jctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- l.RunJanitor(jctx, 10*time.Millisecond, time.Hour, func(err error) { t.Errorf("janitor: %v", err) })
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, err := l.List(ctx, synclayer.DeliveryFilter{})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) == 1 {
			if got[0].EventID != "old-pending" {
				t.Errorf("the janitor kept %q, want old-pending", got[0].EventID)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the janitor did not delete the old synced entry within 10s: %d entries", len(got))
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("RunJanitor returned %v, want context.Canceled", err)
	}
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
	mapper := synclayer.MapperFunc(func(ctx context.Context, ev synclayer.Event) (synclayer.Record, error) {
		return synclayer.Record{Key: ev.Subject, Payload: ev.Data}, nil
	})
	newDispatcher := func(l synclayer.DeliveryLog) *synclayer.Dispatcher {
		reg := new(synclayer.Registry)
		ok := synclayer.ConnectorFunc(func(ctx context.Context, rec synclayer.Record) error { return nil })
		if err := reg.Register("records", ok, synclayer.Route("WorkflowDeployed", mapper)); err != nil {
			b.Fatal(err)
		}
		return synclayertest.NewDispatcher(b, reg, synclayer.WithStore(store), synclayer.WithDeliveryLog(l), synclayer.WithObserver(synclayer.NoObserver))
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
	reportVs(b, "memory-log-ns", memT, "sql-log-ns", sqlT, "of-memory-log-rate")
}
