package outbox_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/internal/testwait"
	"github.com/hmsplatform/synclayer/outbox"
)

// item is the Data of a workload event: the aggregate's version after the
// transaction's change, and the event's place among the transaction's.
type item struct {
	Key string `json:"key"`
	V   int64  `json:"v"`
	J   int    `json:"j"`
}

// workload is a publisher's application: writers that each change one
// aggregate (a row of their own table, which serialises the transactions
// of one aggregate, as any change to a row does) and write one to three
// events about it through the outbox in the same transaction. Transactions
// last a random time, so later ids often commit first, and one in ten
// rolls back.
type workload struct {
	db       *sql.DB
	dialect  outbox.Dialect
	ob       *outbox.Outbox
	agg      string
	writers  int
	events   int // committed events to reach
	subjects int
	run      string
	pause    time.Duration // after each transaction, per writer

	mu         sync.Mutex
	committed  map[string]item
	rolledBack map[string]bool
}

func newWorkload(t testing.TB, db *sql.DB, d outbox.Dialect, ob *outbox.Outbox, events, writers, subjects int) *workload {
	t.Helper()
	w := &workload{db: db, dialect: d, ob: ob, agg: uniqueName("agg"), writers: writers, events: events,
		subjects: subjects, run: fmt.Sprintf("r%x", rand.Uint32()),
		committed: map[string]item{}, rolledBack: map[string]bool{}}
	ctx := t.Context()
	if _, err := db.ExecContext(ctx, "CREATE TABLE "+w.agg+" (id INTEGER PRIMARY KEY, v BIGINT NOT NULL)"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = db.ExecContext(context.Background(), "DROP TABLE IF EXISTS "+w.agg) })
	var vals []string
	for i := range subjects {
		vals = append(vals, fmt.Sprintf("(%d, 0)", i))
	}
	if _, err := db.ExecContext(ctx, "INSERT INTO "+w.agg+" (id, v) VALUES "+strings.Join(vals, ", ")); err != nil {
		t.Fatal(err)
	}
	return w
}

func (w *workload) ph(n int) string {
	if w.dialect == outbox.Postgres {
		return fmt.Sprintf("$%d", n)
	}
	return "?"
}

// change runs one transaction on aggregate a; commit decides its end.
func (w *workload) change(ctx context.Context, rng *rand.Rand, a int, seq string, commit bool) (int, error) {
	tx, err := w.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback() //nolint:errcheck
	if _, err := tx.ExecContext(ctx, "UPDATE "+w.agg+" SET v = v + 1 WHERE id = "+w.ph(1), a); err != nil {
		return 0, err
	}
	var v int64
	if err := tx.QueryRowContext(ctx, "SELECT v FROM "+w.agg+" WHERE id = "+w.ph(1), a).Scan(&v); err != nil {
		return 0, err
	}
	key := fmt.Sprintf("agg-%d", a)
	evs := make([]synclayer.Event, 1+rng.IntN(3))
	for j := range evs {
		data, _ := json.Marshal(item{Key: key, V: v, J: j})
		evs[j] = synclayer.Event{ID: fmt.Sprintf("%s-%s-%d", w.run, seq, j), Type: "ItemChanged", Subject: key,
			Time: time.Now(), Data: data}
	}
	if err := w.ob.Write(ctx, tx, evs...); err != nil {
		return 0, err
	}
	// A random length, so that transactions overlap and commit out of the
	// order of their ids.
	if d := rng.IntN(3000); d > 1500 {
		time.Sleep(time.Duration(d-1500) * time.Microsecond)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if !commit {
		for _, ev := range evs {
			w.rolledBack[ev.ID] = true
		}
		return 0, tx.Rollback()
	}
	if err := tx.Commit(); err != nil {
		return 0, err
	}
	for _, ev := range evs {
		var it item
		_ = json.Unmarshal(ev.Data, &it)
		w.committed[ev.ID] = it
	}
	return len(evs), nil
}

// late opens a transaction that writes one event before the writers start,
// and commits it once until() holds: by then the relays have seen rows with
// higher ids.
func (w *workload) late(t testing.TB, until func() bool) (commit func()) {
	t.Helper()
	ctx := t.Context()
	tx, err := w.db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	ev := synclayer.Event{ID: w.run + "-late", Type: "ItemChanged", Subject: "late", Data: []byte(`{"key":"late"}`)}
	if err := w.ob.Write(ctx, tx, ev); err != nil {
		t.Fatal(err)
	}
	return func() {
		testwait.For(t, 60*time.Second, func() string { return "the late transaction's condition" }, until)
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		w.mu.Lock()
		w.committed[ev.ID] = item{Key: "late"}
		w.mu.Unlock()
	}
}

// drive runs the writers until w.events events are committed.
func (w *workload) drive(t testing.TB) {
	t.Helper()
	ctx := t.Context()
	var done, seq atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, w.writers)
	for i := range w.writers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(i), rand.Uint64()))
			for done.Load() < int64(w.events) {
				s := seq.Add(1)
				n, err := w.change(ctx, rng, rng.IntN(w.subjects), fmt.Sprint(s), rng.IntN(10) != 0)
				if err != nil {
					errs <- fmt.Errorf("writer %d: %w", i, err)
					return
				}
				done.Add(int64(n))
				if w.pause > 0 {
					time.Sleep(w.pause)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// check asserts that the published events are exactly the committed ones,
// each once, and in commit order per subject.
func (w *workload) check(t testing.TB, published []synclayer.Event) {
	t.Helper()
	w.mu.Lock()
	defer w.mu.Unlock()
	times := map[string]int{}
	last := map[string]item{}
	disorder := 0
	for _, ev := range published {
		times[ev.ID]++
		if w.rolledBack[ev.ID] {
			t.Errorf("event %s was rolled back but published", ev.ID)
		}
		if times[ev.ID] > 1 {
			continue
		}
		var it item
		if err := json.Unmarshal(ev.Data, &it); err != nil {
			t.Fatalf("event %s: %v", ev.ID, err)
		}
		if p, ok := last[ev.Subject]; ok && (it.V < p.V || it.V == p.V && it.J <= p.J) {
			if disorder++; disorder <= 5 {
				t.Errorf("subject %s: published v%d.%d after v%d.%d", ev.Subject, it.V, it.J, p.V, p.J)
			}
		}
		last[ev.Subject] = it
	}
	missing, dups := 0, 0
	for id := range w.committed {
		switch n := times[id]; {
		case n == 0:
			if missing++; missing <= 5 {
				t.Errorf("committed event %s never published", id)
			}
		case n > 1:
			dups++
		}
	}
	if missing > 0 || disorder > 0 || dups > 0 {
		t.Errorf("%d of %d committed events never published, %d published more than once, %d out of order per subject",
			missing, len(w.committed), dups, disorder)
	}
}
