package outbox_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/internal/testproc"
	"github.com/hmsplatform/synclayer/internal/testwait"
	"github.com/hmsplatform/synclayer/outbox"
)

// lateCommitEvents is how many committed events TestLateCommitsNeverSkipped
// publishes on d: 20,000, or 2,000 under -short. Under the race detector
// SQLite (a pure Go build) takes 40 to 65 s for 20,000 on a loaded 2-core
// machine, so it runs 10,000 there; PostgreSQL and MariaDB run 20,000 in
// 17 to 48 s.
func lateCommitEvents(d outbox.Dialect) int {
	switch {
	case testing.Short():
		return 2000
	case testproc.Race && d == outbox.SQLite: // the race detector slows SQLite (pure Go) most
		return 10000
	}
	return 20000
}

// TestRollbackNeverPublished: events of a rolled-back transaction are
// never published; those of a committed one are, and the table is empty
// afterwards.
func TestRollbackNeverPublished(t *testing.T) {
	eachDB(t, func(t *testing.T, c dbCase) {
		db := c.open(t)
		ob := newOutbox(t, db, c.dialect, outbox.WithPollInterval(10*time.Millisecond))
		rec := newRecorder()
		stop := startRelay(t, ob, rec)
		ctx := t.Context()

		ev := func(id string) synclayer.Event {
			return synclayer.Event{ID: id, Type: "WorkflowDeployed", Subject: "WF-1", Data: []byte(`{"n":1}`)}
		}
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := ob.Write(ctx, tx, ev("rolled-1"), ev("rolled-2")); err != nil {
			t.Fatal(err)
		}
		if err := tx.Rollback(); err != nil {
			t.Fatal(err)
		}
		writeCommitted(t, ctx, db, ob, ev("kept-1"))
		testwait.For(t, 20*time.Second, func() string { return "kept-1 published" }, func() bool { return rec.count("kept-1") > 0 })
		testwait.For(t, 20*time.Second, func() string { return "empty outbox" }, func() bool {
			n, _, err := ob.Backlog(ctx)
			return err == nil && n == 0
		})
		stop()
		if got := rec.events(); len(got) != 1 || got[0].ID != "kept-1" || string(got[0].Data) != `{"n":1}` || got[0].Subject != "WF-1" {
			t.Fatalf("published %+v; want only kept-1 with its subject and data", got)
		}
	})
}

// TestLateCommitsNeverSkipped runs 32 writers whose transactions of random
// length commit out of id order, with two relays publishing at once, and
// one transaction held open until the relays have published rows with
// higher ids. Every committed event must be published exactly once, no
// rolled-back one ever, and per subject in commit order (each aggregate's
// version order). The same workload under a naive relay that reads by an
// increasing id cursor must lose rows: that shows the test can fail.
func TestLateCommitsNeverSkipped(t *testing.T) {
	eachDB(t, func(t *testing.T, c dbCase) {
		db := c.open(t)
		n := lateCommitEvents(c.dialect)
		ob := newOutbox(t, db, c.dialect, outbox.WithPollInterval(20*time.Millisecond), outbox.WithLogger(slog.New(slog.NewTextHandler(os.Stderr, nil))))
		w := newWorkload(t, db, c.dialect, ob, n, 32, 500)
		rec := newRecorder()
		// SQLite has one writer at a time: a transaction held open
		// would stop every other writer, and ids commit in order.
		var commitLate func()
		if c.dialect != outbox.SQLite {
			commitLate = w.late(t, func() bool { return rec.distinct() >= 200 })
		}
		start := time.Now()
		stop1 := startRelay(t, ob, rec)
		stop2 := startRelay(t, ob, rec)
		lateDone := make(chan struct{})
		go func() {
			defer close(lateDone)
			if commitLate != nil {
				commitLate()
			}
		}()
		w.drive(t)
		<-lateDone
		testwait.For(t, 60*time.Second, func() string {
			return fmt.Sprintf("%d of %d committed events published", rec.distinct(), len(w.committed))
		}, func() bool { return rec.distinct() >= len(w.committed) })
		stop1()
		stop2()
		w.check(t, rec.events())
		if left, _, err := ob.Backlog(context.Background()); err != nil || left != 0 {
			t.Errorf("backlog after the run: %d, %v; want 0", left, err)
		}
		t.Logf("%s: %d committed events (%d rolled back) published by two relays in %v",
			c.name, len(w.committed), len(w.rolledBack), time.Since(start).Round(time.Millisecond))

		if c.dialect == outbox.SQLite {
			return
		}
		// The same workload, smaller, under a naive relay.
		nob := newOutbox(t, db, c.dialect)
		nw := newWorkload(t, db, c.dialect, nob, min(n, 3000), 32, 500)
		naive := &naiveRelay{db: db, table: nob.Table(), ph: nw.ph(1), seen: map[string]bool{}}
		ctx, cancel := context.WithCancel(t.Context())
		naiveDone := make(chan error, 1)
		commitLate = nw.late(t, func() bool { return naive.count() >= 200 })
		go func() { naiveDone <- naive.run(ctx) }()
		lateDone = make(chan struct{})
		go func() { defer close(lateDone); commitLate() }()
		nw.drive(t)
		<-lateDone
		cancel()
		if err := <-naiveDone; err != nil {
			t.Fatal(err)
		}
		// A last pass after every writer is done: what it does not
		// find now, it never will.
		if err := naive.pass(t.Context()); err != nil {
			t.Fatal(err)
		}
		skipped := 0
		for id := range nw.committed {
			if !naive.seen[id] {
				skipped++
			}
		}
		if naive.seen[nw.run+"-late"] || skipped == 0 {
			t.Fatalf("the naive relay skipped %d of %d committed events (late one seen: %v); the test cannot tell a naive relay from a correct one",
				skipped, len(nw.committed), naive.seen[nw.run+"-late"])
		}
		t.Logf("%s: a naive id-cursor relay skipped %d of %d committed events, the held-open one included", c.name, skipped, len(nw.committed))
	})
}

// naiveRelay reads an outbox table by an increasing id cursor: the design
// that skips a row whose transaction commits after a row with a higher id
// was read.
type naiveRelay struct {
	db     *sql.DB
	table  string
	ph     string
	cursor int64
	mu     sync.Mutex
	seen   map[string]bool
}

func (r *naiveRelay) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.seen)
}

func (r *naiveRelay) run(ctx context.Context) error {
	for ctx.Err() == nil {
		if err := r.pass(ctx); err != nil && ctx.Err() == nil {
			return err
		}
		time.Sleep(2 * time.Millisecond)
	}
	return nil
}

// pass reads every row past the cursor.
func (r *naiveRelay) pass(ctx context.Context) error {
	for {
		rs, err := r.db.QueryContext(ctx, "SELECT id, event FROM "+r.table+" WHERE id > "+r.ph+" ORDER BY id LIMIT 500", r.cursor)
		if err != nil {
			return err
		}
		n := 0
		for rs.Next() {
			var id int64
			var body []byte
			if err := rs.Scan(&id, &body); err != nil {
				rs.Close()
				return err
			}
			var ev synclayer.Event
			if err := json.Unmarshal(body, &ev); err != nil {
				rs.Close()
				return err
			}
			r.mu.Lock()
			r.seen[ev.ID] = true
			r.mu.Unlock()
			r.cursor = max(r.cursor, id)
			n++
		}
		if err := rs.Close(); err != nil {
			return err
		}
		if n == 0 {
			return nil
		}
	}
}

// TestWriteValidates: an event without ID or Type, or with Data that is
// not JSON, is refused before anything is written.
func TestWriteValidates(t *testing.T) {
	c := dbCases[2]
	db := c.open(t)
	ob := newOutbox(t, db, c.dialect)
	ctx := t.Context()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	for _, ev := range []synclayer.Event{
		{Type: "T"},
		{ID: "a"},
		{ID: "b", Type: "T", Data: []byte("{not json")},
	} {
		if err := ob.Write(ctx, tx, ev); !errors.Is(err, synclayer.ErrInvalidEvent) {
			t.Errorf("Write(%+v) = %v; want ErrInvalidEvent", ev, err)
		}
	}
	if _, err := outbox.New(db, "oracle", "t"); !errors.Is(err, outbox.ErrConfig) || !errors.Is(err, synclayer.ErrInvalidOption) {
		t.Errorf("New with an unknown dialect = %v; want ErrConfig, which is an ErrInvalidOption", err)
	}
	if _, err := outbox.New(db, outbox.SQLite, "t; DROP TABLE x"); !errors.Is(err, outbox.ErrConfig) {
		t.Errorf("New with a bad table name = %v; want ErrConfig", err)
	}
}

// TestRefusedEventsDoNotHoldUpOthers: events the publisher always refuses,
// four batches of them, each of its own subject, do not keep the events
// of other subjects from being published (they were given back at once
// and, being the oldest, filled every claim); the later event of a
// refused event's subject still waits for it, and goes out after it once
// the publisher takes it.
func TestRefusedEventsDoNotHoldUpOthers(t *testing.T) {
	inParent(t)
	eachDB(t, func(t *testing.T, c dbCase) {
		db := c.open(t)
		ob := newOutbox(t, db, c.dialect, outbox.WithBatch(2), outbox.WithLease(time.Second),
			outbox.WithPollInterval(10*time.Millisecond))
		var refuse atomic.Bool
		refuse.Store(true)
		rec := newRecorder()
		rec.fail = func(ev synclayer.Event) error {
			if refuse.Load() && strings.HasPrefix(ev.ID, "poison") {
				return errors.New("the bus refuses this event")
			}
			return nil
		}
		ctx := t.Context()
		for i := range 8 {
			writeCommitted(t, ctx, db, ob, synclayer.Event{ID: fmt.Sprintf("poison-%d", i), Type: "T", Subject: fmt.Sprintf("p%d", i)})
		}
		writeCommitted(t, ctx, db, ob, synclayer.Event{ID: "p0-later", Type: "T", Subject: "p0"})
		for i := range 3 {
			writeCommitted(t, ctx, db, ob, synclayer.Event{ID: fmt.Sprintf("good-%d", i), Type: "T", Subject: fmt.Sprintf("g%d", i)})
		}
		startRelay(t, ob, rec)
		testwait.For(t, 15*time.Second, func() string {
			return fmt.Sprintf("%d of 3 events of other subjects published, while 8 refused events of their own subjects fill the claims", rec.count("good-0")+rec.count("good-1")+rec.count("good-2"))
		}, func() bool { return rec.count("good-0") > 0 && rec.count("good-1") > 0 && rec.count("good-2") > 0 })
		if n := rec.count("p0-later"); n != 0 {
			t.Fatalf("p0-later published %d times while the earlier event of its subject is refused", n)
		}
		refuse.Store(false)
		testwait.For(t, 20*time.Second, func() string { return fmt.Sprintf("%d of 12 events published", rec.distinct()) },
			func() bool { return rec.distinct() == 12 })
		evs := rec.events()
		first := func(id string) int {
			return slices.IndexFunc(evs, func(ev synclayer.Event) bool { return ev.ID == id })
		}
		if first("p0-later") < first("poison-0") {
			t.Fatalf("p0-later published before poison-0, the earlier event of its subject")
		}
	})
}

// overlapPub refuses every publish until up, then publishes slowly, and
// records publishes of one event that ran at the same time.
type overlapPub struct {
	mu       sync.Mutex
	up       bool
	refused  int
	inflight map[string]int
	total    map[string]int
	overlap  []string
}

func (p *overlapPub) Publish(ctx context.Context, ev synclayer.Event) error {
	p.mu.Lock()
	if !p.up {
		p.refused++
		p.mu.Unlock()
		return errors.New("broker down")
	}
	p.inflight[ev.ID]++
	p.total[ev.ID]++
	if p.inflight[ev.ID] > 1 {
		p.overlap = append(p.overlap, ev.ID)
	}
	p.mu.Unlock()
	// A slow publish that ignores ctx, but ends within a third of the
	// lease.
	time.Sleep(200 * time.Millisecond)
	p.mu.Lock()
	p.inflight[ev.ID]--
	p.mu.Unlock()
	return nil
}

// TestOutagePauseStaysWithinTheLease: during an outage long enough for the
// relay's pause to grow past the lease (it grew to 5s whatever the
// lease), a claimed batch that waited behind the pause was published
// after its lease had ended, while another relay had claimed and was
// publishing the same events. Two relays with a 1s lease: no event is
// ever published by both at once. The databases run at once, each with a
// table (or SQLite file) of its own: each run is mostly the outage's wait.
func TestOutagePauseStaysWithinTheLease(t *testing.T) {
	inParent(t)
	eachDB(t, func(t *testing.T, c dbCase) {
		t.Parallel()
		db := c.open(t)
		ob := newOutbox(t, db, c.dialect, outbox.WithLease(time.Second), outbox.WithBatch(5),
			outbox.WithPollInterval(10*time.Millisecond))
		ctx := t.Context()
		for i := range 40 {
			writeCommitted(t, ctx, db, ob, synclayer.Event{ID: fmt.Sprintf("e%d", i), Type: "T", Subject: fmt.Sprintf("s%d", i)})
		}
		p := &overlapPub{inflight: map[string]int{}, total: map[string]int{}}
		startRelay(t, ob, p)
		startRelay(t, ob, p)
		// The outage lasts until a pause doubling from 20ms at each
		// refused batch would have passed the lease: 7 pauses (2.5s).
		start := time.Now()
		testwait.For(t, 30*time.Second, func() string { return "the outage to run its course" }, func() bool {
			return locked(&p.mu, func() bool { return p.refused >= 20 }) && time.Since(start) > 5*time.Second
		})
		locked(&p.mu, func() bool { p.up = true; return true })
		testwait.For(t, 30*time.Second, func() string { return "the outbox to empty" }, func() bool {
			n, _, err := ob.Backlog(ctx)
			return err == nil && n == 0
		})
		p.mu.Lock()
		defer p.mu.Unlock()
		if len(p.overlap) > 0 {
			t.Fatalf("%d publishes of an event ran while another publish of it was in flight (two relays held it), e.g. %v",
				len(p.overlap), p.overlap[:min(5, len(p.overlap))])
		}
	})
}

// gatePub blocks the publish of the event block until open is closed
// (ignoring ctx, as a publisher stuck in a call may), and records the
// others.
type gatePub struct {
	block   string
	blocked chan struct{} // closed when the blocked publish has begun
	open    chan struct{}
	once    sync.Once
	rec     *recorder
}

func (p *gatePub) Publish(ctx context.Context, ev synclayer.Event) error {
	if ev.ID == p.block {
		p.once.Do(func() { close(p.blocked) })
		<-p.open
		return nil
	}
	return p.rec.Publish(ctx, ev)
}

// TestStaleDeleteSparesReusedID: a relay whose publish outlived its lease
// deletes the event afterwards by its id; on SQLite a table that another
// relay had drained meanwhile gave that id to the next event written, which
// the stale relay had claimed too, so the delete removed an event that was
// never published. Ids are now never reused.
func TestStaleDeleteSparesReusedID(t *testing.T) {
	inParent(t)
	eachDB(t, func(t *testing.T, c dbCase) {
		db := c.open(t)
		const lease = 300 * time.Millisecond
		ob := newOutbox(t, db, c.dialect, outbox.WithLease(lease), outbox.WithBatch(1),
			outbox.WithPollInterval(10*time.Millisecond))
		ctx := t.Context()
		writeCommitted(t, ctx, db, ob, synclayer.Event{ID: "old", Type: "T", Subject: "a"})
		// Relay A refuses every other event, and claims only every second,
		// so that relay B, not A, takes the event over once its lease
		// ended.
		pa := &gatePub{block: "old", blocked: make(chan struct{}), open: make(chan struct{}), rec: newRecorder()}
		pa.rec.fail = func(synclayer.Event) error { return errors.New("relay A's bus refuses it") }
		obA, err := outbox.New(db, c.dialect, ob.Table(), outbox.WithLease(lease), outbox.WithBatch(1),
			outbox.WithPollInterval(time.Second), outbox.WithoutNotify())
		if err != nil {
			t.Fatal(err)
		}
		stopA := startRelay(t, obA, pa)
		released := false
		defer func() {
			if !released {
				close(pa.open)
			}
		}()
		select {
		case <-pa.blocked:
		case <-time.After(10 * time.Second):
			t.Fatal("relay A did not start publishing the event")
		}
		// Relay B takes the event over once A's lease ends, publishes and
		// deletes it.
		rb := newRecorder()
		stopB := startRelay(t, ob, rb)
		testwait.For(t, 10*time.Second, func() string { return "relay B to publish and delete the event" }, func() bool {
			n, _, err := ob.Backlog(ctx)
			return rb.count("old") > 0 && err == nil && n == 0
		})
		stopB()
		// The next event; relay A claims it while its stale publish hangs,
		// and refuses it once that publish returns.
		writeCommitted(t, ctx, db, ob, synclayer.Event{ID: "new", Type: "T", Subject: "b"})
		testwait.For(t, 10*time.Second, func() string { return "relay A to claim the new event" }, func() bool {
			var n int
			err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+ob.Table()+" WHERE owner <> ''").Scan(&n)
			return err == nil && n == 1
		})
		released = true
		close(pa.open)
		stopA()
		rc := newRecorder()
		startRelay(t, ob, rc)
		testwait.For(t, 10*time.Second, func() string {
			n, _, _ := ob.Backlog(ctx)
			return fmt.Sprintf("event \"new\" published (%d events in the outbox)", n)
		}, func() bool { return rc.count("new") > 0 })
	})
}
