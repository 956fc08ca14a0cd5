package sqlstore_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/idempotency"
	"github.com/hmsplatform/synclayer/idempotency/internal/storetest"
	"github.com/hmsplatform/synclayer/idempotency/sqlstore"
	"github.com/hmsplatform/synclayer/synclayertest"
)

// batchStore opens a store over a fresh table of b with opts, the pool
// sized for its batches.
func batchStore(t *testing.T, b backend, prefix string, opts ...sqlstore.Option) *sqlstore.Store {
	t.Helper()
	table := uniqueTable(prefix)
	var dropped sync.Map
	_, db := openStore(t, b, table, &dropped)
	db.SetMaxIdleConns(16)
	s, err := sqlstore.New(db, b.dialect, table, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// eachOneInflightStore runs test, in parallel, on each backend with a
// store of its own made by batchStore with prefix, that has one batch in
// flight at a time: the calls that come meanwhile queue for the next.
func eachOneInflightStore(t *testing.T, prefix string, test func(t *testing.T, s *sqlstore.Store)) {
	eachBackend(t, func(t *testing.T, b backend) {
		t.Parallel()
		test(t, batchStore(t, b, prefix, sqlstore.WithInflight(1)))
	})
}

// waitPending polls until n calls of op wait in s for a batch.
func waitPending(t *testing.T, s *sqlstore.Store, op string, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for sqlstore.Pending(s, op) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d %s calls never queued (have %d)", n, op, sqlstore.Pending(s, op))
		}
		time.Sleep(time.Millisecond)
	}
}

// heldBatch holds the first batch of one kind that a Store sends until
// release is closed, and records the size of every batch of that kind.
type heldBatch struct {
	entered chan struct{} // closed when the first batch is held
	release chan struct{} // close it to let the first batch go

	mu    sync.Mutex
	held  bool
	sizes []int
}

// holdFirstBatch sets s's test hook to hold its first batch of op ("":
// of any kind) and record the sizes of op's batches.
func holdFirstBatch(s *sqlstore.Store, op string) *heldBatch {
	h := &heldBatch{entered: make(chan struct{}), release: make(chan struct{})}
	sqlstore.SetTestHook(s, func(o string, n int) error {
		if op != "" && o != op {
			return nil
		}
		h.mu.Lock()
		h.sizes = append(h.sizes, n)
		first := !h.held
		h.held = true
		h.mu.Unlock()
		if first {
			close(h.entered)
			<-h.release
		}
		return nil
	})
	return h
}

// batchSizes returns the sizes of the batches recorded so far.
func (h *heldBatch) batchSizes() []int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.sizes)
}

// 64 goroutines claim 8 keys through the batcher, each its own event with
// its own version, retrying while busy and pushing when acquired: no key
// ever has two live holders, no event is pushed twice, the newest event of
// each key is pushed, and each key ends at its newest version. The claims
// did go in shared batches.
func TestBatchedClaimsOneHolderPerKey(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		t.Parallel()
		s := batchStore(t, b, "sqlb64")
		var biggest atomic.Int64
		sqlstore.SetTestHook(s, func(op string, n int) error {
			if op == "claim" && int64(n) > biggest.Load() {
				biggest.Store(int64(n))
			}
			return nil
		})
		const keys, events = 8, 64
		var holders [keys]atomic.Int32
		var pushes [events]atomic.Int32
		ctx := context.Background()
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range events {
			wg.Go(func() {
				<-start
				c := idempotency.Claim{Connector: "conn", Key: fmt.Sprintf("key-%d", i%keys), EventID: fmt.Sprintf("evt-%d", i),
					Version: int64(i + 1), LeaseTTL: time.Minute, Retention: time.Hour}
				for {
					r, err := s.Claim(ctx, c)
					if err != nil {
						t.Errorf("claim %s: %v", c.EventID, err)
						return
					}
					switch r.Status {
					case idempotency.ClaimBusy:
						time.Sleep(time.Millisecond) // a retry, as the dispatcher's
						continue
					case idempotency.ClaimAcquired:
						if n := holders[i%keys].Add(1); n != 1 {
							t.Errorf("key-%d has %d live holders", i%keys, n)
						}
						pushes[i].Add(1)
						holders[i%keys].Add(-1)
						if err := s.Complete(ctx, c, r.Token); err != nil {
							t.Errorf("complete %s: %v", c.EventID, err)
						}
					}
					return
				}
			})
		}
		close(start)
		wg.Wait()
		for i := range events {
			if n := pushes[i].Load(); n > 1 {
				t.Errorf("evt-%d pushed %d times", i, n)
			}
		}
		for k := range keys {
			newest := (events - keys) + k // the highest i with i%keys == k
			if pushes[newest].Load() != 1 {
				t.Errorf("the newest event of key-%d (evt-%d) was not pushed", k, newest)
			}
			c := idempotency.Claim{Connector: "conn", Key: fmt.Sprintf("key-%d", k), EventID: "check", LeaseTTL: time.Minute}
			r, err := s.Claim(ctx, c)
			if err != nil || r.Status != idempotency.ClaimAcquired || r.Version != int64(newest+1) {
				t.Errorf("key-%d after the run: %v, version %d, %v; want acquired at version %d", k, r.Status, r.Version, err, newest+1)
			}
			// A redelivery of every pushed event is done.
			for i := k; i < events; i += keys {
				if pushes[i].Load() == 1 {
					c := idempotency.Claim{Connector: "conn", Key: fmt.Sprintf("key-%d", k), EventID: fmt.Sprintf("evt-%d", i),
						Version: int64(i + 1), LeaseTTL: time.Minute}
					if r, err := s.Claim(ctx, c); err != nil || r.Status != idempotency.ClaimDone {
						t.Errorf("redelivery of evt-%d: %v, %v; want done", i, r.Status, err)
					}
				}
			}
		}
		if biggest.Load() < 2 {
			t.Errorf("the largest claim batch carried %d calls; 64 concurrent claims never shared a statement", biggest.Load())
		}
	})
}

var errInjected = errors.New("injected statement failure")

// A batch whose statement fails fails the calls in it, each with an error
// naming the operation, connector and key; the calls that queued behind it
// go in the next batch, which works; and a failed complete records nothing.
func TestBatchFailureStaysInBatch(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		t.Parallel()
		s := batchStore(t, b, "sqlbfail", sqlstore.WithInflight(1))
		entered, release := make(chan string, 16), make(chan struct{})
		var failNext atomic.Bool
		failNext.Store(true)
		sqlstore.SetTestHook(s, func(op string, n int) error {
			if failNext.CompareAndSwap(true, false) {
				entered <- op
				<-release
				return errInjected
			}
			return nil
		})
		ctx := context.Background()
		claim := func(key, event string) idempotency.Claim {
			return idempotency.Claim{Connector: "conn", Key: key, EventID: event, Version: 1, LeaseTTL: time.Minute, Retention: time.Hour}
		}
		type out struct {
			r   idempotency.ClaimResult
			err error
		}
		first := make(chan out, 1)
		go func() {
			r, err := s.Claim(ctx, claim("a", "ea"))
			first <- out{r, err}
		}()
		<-entered // the first batch, of one claim, is in flight
		rest := make(chan out, 2)
		for _, k := range []string{"b", "c"} {
			go func() {
				r, err := s.Claim(ctx, claim(k, "e"+k))
				rest <- out{r, err}
			}()
		}
		waitPending(t, s, "claim", 2)
		close(release)
		o := <-first
		if !errors.Is(o.err, errInjected) {
			t.Fatalf("claim in the failed batch: %v, %v; want the batch's error", o.r.Status, o.err)
		}
		for _, want := range []string{"sqlstore: " + b.name + " claim", `connector "conn"`, `key "a"`, `event "ea"`} {
			if !strings.Contains(o.err.Error(), want) {
				t.Errorf("error %q does not name %s", o.err, want)
			}
		}
		for range 2 {
			if o := <-rest; o.err != nil || o.r.Status != idempotency.ClaimAcquired {
				t.Errorf("claim in the next batch: %v, %v; want acquired", o.r.Status, o.err)
			}
		}
		// A claim that failed took nothing.
		r, err := s.Claim(ctx, claim("a", "ea"))
		if err != nil || r.Status != idempotency.ClaimAcquired {
			t.Fatalf("claim after the failed batch: %v, %v; want acquired", r.Status, err)
		}

		// A failed complete records no done-marker and no version.
		failNext.Store(true)
		done := make(chan error, 1)
		go func() { done <- s.Complete(ctx, claim("a", "ea"), r.Token) }()
		<-entered // release is closed: the hook fails the batch at once
		if err := <-done; !errors.Is(err, errInjected) || !strings.Contains(err.Error(), "complete") {
			t.Fatalf("complete in a failed batch: %v; want the batch's error naming the complete", err)
		}
		if err := s.Release(ctx, claim("a", "ea"), r.Token); err != nil {
			t.Fatal(err)
		}
		r, err = s.Claim(ctx, claim("a", "ea"))
		if err != nil || r.Status != idempotency.ClaimAcquired || r.Version != 0 {
			t.Errorf("claim after a failed complete: %v, version %d, %v; want acquired at version 0 (nothing recorded)", r.Status, r.Version, err)
		}
	})
}

// retryable returns an error each dialect reports as rolled back and safe
// to run again.
func retryable(b backend) error {
	switch b.name {
	case "postgres":
		return &pgconn.PgError{Code: "40001", Message: "injected serialization failure"}
	case "mariadb":
		return &mysql.MySQLError{Number: 1213, Message: "injected deadlock"}
	}
	return sqliteBusy{}
}

type sqliteBusy struct{}

func (sqliteBusy) Error() string { return "injected SQLITE_BUSY" }
func (sqliteBusy) Code() int     { return 5 }

// A batch that meets a deadlock or serialization failure runs again, and
// its answers are those of the run that committed: of concurrent claims of
// distinct keys each is acquired once, and completes record their events.
func TestBatchRetried(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		t.Parallel()
		s := batchStore(t, b, "sqlbretry")
		var fails atomic.Int32
		fails.Store(2)
		sqlstore.SetTestHook(s, func(op string, n int) error {
			if fails.Add(-1) >= 0 {
				return retryable(b)
			}
			return nil
		})
		ctx := context.Background()
		var wg sync.WaitGroup
		for i := range 8 {
			wg.Go(func() {
				c := idempotency.Claim{Connector: "conn", Key: fmt.Sprint("k", i), EventID: fmt.Sprint("e", i), Version: 3,
					LeaseTTL: time.Minute, Retention: time.Hour}
				r, err := s.Claim(ctx, c)
				if err != nil || r.Status != idempotency.ClaimAcquired {
					t.Errorf("claim %d: %v, %v; want acquired", i, r.Status, err)
					return
				}
				if err := s.Complete(ctx, c, r.Token); err != nil {
					t.Errorf("complete %d: %v", i, err)
				}
				if r, err := s.Claim(ctx, c); err != nil || r.Status != idempotency.ClaimDone {
					t.Errorf("claim %d again: %v, %v; want done", i, r.Status, err)
				}
			})
		}
		wg.Wait()
		if fails.Load() >= 0 {
			t.Error("no batch met the injected failures")
		}
	})
}

// A caller whose context ends while its call waits for a batch gets the
// context's error at once, and its call is not sent.
func TestBatchCallerLeaves(t *testing.T) {
	b := backends[2] // the lane logic is the same for every dialect
	s := batchStore(t, b, "sqlbleave", sqlstore.WithInflight(1))
	h := holdFirstBatch(s, "")
	claim := func(key string) idempotency.Claim {
		return idempotency.Claim{Connector: "conn", Key: key, EventID: "e-" + key, LeaseTTL: time.Minute}
	}
	first := make(chan error, 1)
	go func() {
		_, err := s.Claim(context.Background(), claim("a"))
		first <- err
	}()
	<-h.entered
	ctx, cancel := context.WithCancel(context.Background())
	left := make(chan error, 1)
	go func() {
		_, err := s.Claim(ctx, claim("b"))
		left <- err
	}()
	waitPending(t, s, "claim", 1)
	cancel()
	if err := <-left; !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), `key "b"`) {
		t.Errorf("claim whose context ended: %v; want context.Canceled naming the key", err)
	}
	close(h.release)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	r, err := s.Claim(context.Background(), claim("b"))
	if err != nil || r.Status != idempotency.ClaimAcquired {
		t.Errorf("claim of b after its caller left: %v, %v; want acquired (the left call took nothing)", r.Status, err)
	}
	if sizes := h.batchSizes(); len(sizes) != 2 || sizes[0] != 1 || sizes[1] != 1 {
		t.Errorf("batch sizes %v; want [1 1] (the left call never sent)", sizes)
	}
}

// A claim whose caller left after its batch was sent does not keep the key
// busy: the lane releases the lease it took, which nobody would renew,
// complete or release, before its next batch, so a later claim of the key
// acquires it at once instead of waiting out the LeaseTTL. The claim that
// shared the batch keeps its lease.
func TestBatchCallerLeavesAfterSend(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		s := batchStore(t, b, "sqlbgone", sqlstore.WithInflight(1))
		first, pair := make(chan struct{}), make(chan struct{})
		releaseFirst, releasePair := make(chan struct{}), make(chan struct{})
		var batches atomic.Int64
		sqlstore.SetTestHook(s, func(op string, n int) error {
			if op != "claim" {
				return nil
			}
			switch batches.Add(1) {
			case 1: // x, alone: a and b gather behind it
				close(first)
				<-releaseFirst
			case 2: // a and b, sent together
				if n != 2 {
					return fmt.Errorf("second batch of %d claims; want 2", n)
				}
				close(pair)
				<-releasePair
			}
			return nil
		})
		claim := func(key, event string) idempotency.Claim {
			return idempotency.Claim{Connector: "conn", Key: key, EventID: event, LeaseTTL: time.Hour}
		}
		type answer struct {
			r   idempotency.ClaimResult
			err error
		}
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		defer cancel()
		bctx, leave := context.WithCancel(ctx)
		x, a, bAns := make(chan answer, 1), make(chan answer, 1), make(chan answer, 1)
		go func() { r, err := s.Claim(ctx, claim("x", "ex")); x <- answer{r, err} }()
		<-first
		go func() { r, err := s.Claim(ctx, claim("a", "ea")); a <- answer{r, err} }()
		go func() { r, err := s.Claim(bctx, claim("b", "eb")); bAns <- answer{r, err} }()
		waitPending(t, s, "claim", 2)
		close(releaseFirst)
		<-pair
		leave() // b's caller leaves while its batch runs
		if got := <-bAns; !errors.Is(got.err, context.Canceled) {
			t.Fatalf("claim of b whose caller left: %v, %v; want context.Canceled", got.r.Status, got.err)
		}
		close(releasePair)
		for name, ch := range map[string]chan answer{"x": x, "a": a} {
			if got := <-ch; got.err != nil || got.r.Status != idempotency.ClaimAcquired {
				t.Errorf("claim of %s: %v, %v; want acquired", name, got.r.Status, got.err)
			}
		}
		if r, err := s.Claim(ctx, claim("b", "eb2")); err != nil || r.Status != idempotency.ClaimAcquired {
			t.Errorf("claim of b after its caller left: %v, %v; want acquired (the left claim's lease released)", r.Status, err)
		}
		if r, err := s.Claim(ctx, claim("a", "ea2")); err != nil || r.Status != idempotency.ClaimBusy {
			t.Errorf("claim of a, whose caller stayed: %v, %v; want busy (its lease kept)", r.Status, err)
		}
	})
}

// Renew extends the lease its token holds, and reports false once the
// token no longer holds it (see storetest.Renew).
func TestRenew(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		t.Parallel()
		storetest.Renew(t, batchStore(t, b, "sqlrenew"), 200*time.Millisecond)
	})
}

// CompleteLogged writes the done-marker, the version and the log entry
// together, or none of them; with a log it cannot share a statement with,
// it reports false and does nothing.
func TestCompleteLogged(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		t.Parallel()
		storeTable, logTable := uniqueTable("sqlclst"), uniqueTable("sqlcllg")
		var dropped sync.Map
		_, db := openStore(t, b, storeTable, &dropped)
		if p, ok := sqliteFiles.Load(storeTable); ok {
			sqliteFiles.Store(logTable, p) // one SQLite file for both tables
		}
		s, err := sqlstore.New(db, b.dialect, storeTable)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		openLog(t, b, logTable, &dropped)                    // migrated, dropped at the end
		log, err := sqlstore.NewLog(db, b.dialect, logTable) // on the store's pool
		if err != nil {
			t.Fatal(err)
		}
		defer log.Close()
		if !log.Durable() {
			t.Error("a SQL log is not durable")
		}
		ctx := context.Background()
		claim := func(key, event string, v int64) idempotency.Claim {
			return idempotency.Claim{Connector: "conn", Key: key, EventID: event, Version: v, LeaseTTL: time.Minute, Retention: time.Hour}
		}
		delivery := func(c idempotency.Claim) synclayer.Delivery {
			now := time.Now()
			return synclayer.Delivery{EventID: c.EventID, EventType: "T", Connector: c.Connector, Key: c.Key,
				State: synclayer.StatusSynced, Attempts: 1, FirstAttempt: now, LastAttempt: now, Updated: now}
		}
		logged := func(c idempotency.Claim) []synclayer.Delivery {
			t.Helper()
			ds, err := log.List(ctx, synclayer.DeliveryFilter{EventID: c.EventID, Connector: c.Connector})
			if err != nil {
				t.Fatal(err)
			}
			return ds
		}

		// Both written, by concurrent calls sharing batches.
		var wg sync.WaitGroup
		for i := range 8 {
			wg.Go(func() {
				c := claim(fmt.Sprint("k", i), fmt.Sprint("e", i), 5)
				r, err := s.Claim(ctx, c)
				if err != nil || r.Status != idempotency.ClaimAcquired {
					t.Errorf("claim: %v, %v", r.Status, err)
					return
				}
				ok, err := s.CompleteLogged(ctx, c, r.Token, log, delivery(c))
				if err != nil || !ok {
					t.Errorf("CompleteLogged: %v, %v; want true", ok, err)
				}
			})
		}
		wg.Wait()
		for i := range 8 {
			c := claim(fmt.Sprint("k", i), fmt.Sprint("e", i), 5)
			if r, err := s.Claim(ctx, c); err != nil || r.Status != idempotency.ClaimDone {
				t.Errorf("claim of a logged complete: %v, %v; want done", r.Status, err)
			}
			if ds := logged(c); len(ds) != 1 || ds[0].State != synclayer.StatusSynced {
				t.Errorf("log entry of e%d: %+v; want one synced entry", i, ds)
			}
		}

		// Neither written: the log's write fails (its table is gone),
		// so the complete is rolled back with it.
		c := claim("kx", "ex", 7)
		r, err := s.Claim(ctx, c)
		if err != nil || r.Status != idempotency.ClaimAcquired {
			t.Fatalf("claim: %v, %v", r.Status, err)
		}
		if _, err := db.Exec("ALTER TABLE " + logTable + " RENAME TO " + logTable + "_away"); err != nil {
			t.Fatal(err)
		}
		ok, err := s.CompleteLogged(ctx, c, r.Token, log, delivery(c))
		if err == nil || !ok {
			t.Fatalf("CompleteLogged with the log's table gone: %v, %v; want true and an error", ok, err)
		}
		if !strings.Contains(err.Error(), "complete") || !strings.Contains(err.Error(), `key "kx"`) {
			t.Errorf("error %q does not name the complete and the key", err)
		}
		if _, err := db.Exec("ALTER TABLE " + logTable + "_away RENAME TO " + logTable); err != nil {
			t.Fatal(err)
		}
		if ds := logged(c); len(ds) != 0 {
			t.Errorf("log after a failed CompleteLogged: %+v; want nothing", ds)
		}
		if err := s.Release(ctx, c, r.Token); err != nil {
			t.Fatal(err)
		}
		if r, err := s.Claim(ctx, c); err != nil || r.Status != idempotency.ClaimAcquired || r.Version != 0 {
			t.Errorf("claim after a failed CompleteLogged: %v, version %d, %v; want acquired at version 0", r.Status, r.Version, err)
		}

		// Not a log it can share a statement with: false, nothing done.
		mem := new(synclayer.MemoryLog)
		c2 := claim("ky", "ey", 1)
		r, err = s.Claim(ctx, c2)
		if err != nil || r.Status != idempotency.ClaimAcquired {
			t.Fatalf("claim: %v, %v", r.Status, err)
		}
		otherDB := openDB(t, b, logTable)
		otherLog, err := sqlstore.NewLog(otherDB, b.dialect, logTable)
		if err != nil {
			t.Fatal(err)
		}
		for name, l := range map[string]synclayer.DeliveryLog{"a memory log": mem, "a log on another pool": otherLog} {
			if ok, err := s.CompleteLogged(ctx, c2, r.Token, l, delivery(c2)); ok || err != nil {
				t.Errorf("CompleteLogged with %s: %v, %v; want false, nil", name, ok, err)
			}
		}
		if mem.Len() != 0 || len(logged(c2)) != 0 {
			t.Error("CompleteLogged that reported false wrote to the log")
		}
		if r, err := s.Claim(ctx, claim("ky", "ey2", 2)); err != nil || r.Status != idempotency.ClaimBusy {
			t.Errorf("claim of a key whose CompleteLogged reported false: %v, %v; want busy (lease still held)", r.Status, err)
		}
	})
}

// New warns through WithWarn when the pool allows fewer connections than
// the batches use.
func TestWarnsSmallPool(t *testing.T) {
	b := backends[2]
	db := openDB(t, b, uniqueTable("sqlwarn"))
	db.SetMaxOpenConns(2)
	var got []error
	if _, err := sqlstore.New(db, b.dialect, "t", sqlstore.WithWarn(func(err error) { got = append(got, err) })); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || !errors.Is(got[0], sqlstore.ErrPoolTooSmall) {
		t.Errorf("warnings %v; want one ErrPoolTooSmall", got)
	}
	db.SetMaxOpenConns(0)
	got = nil
	s, err := sqlstore.New(db, b.dialect, "t", sqlstore.WithWarn(func(err error) { got = append(got, err) }))
	if err != nil || len(got) != 0 {
		t.Errorf("unbounded pool: warnings %v, %v; want none", got, err)
	}
	// The pool shrunk after New: Migrate sees it.
	db.SetMaxOpenConns(3)
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || !errors.Is(got[0], sqlstore.ErrPoolTooSmall) {
		t.Errorf("warnings after Migrate on a shrunk pool: %v; want one ErrPoolTooSmall", got)
	}
}

// With group commit off no batches run, so a pool of one connection, the
// usual one for SQLite, is no reason for a warning, from New or Migrate.
// A Log does not check its pool either: it gives no ErrPoolTooSmall.
func TestNoPoolWarningWithoutBatches(t *testing.T) {
	b := backends[2]
	table := uniqueTable("sqlnowarn")
	db := openDB(t, b, table)
	db.SetMaxOpenConns(1)
	var got []error
	warn := sqlstore.WithWarn(func(err error) { got = append(got, err) })
	s, err := sqlstore.New(db, b.dialect, table, sqlstore.WithMaxBatch(sqlstore.NoGroupCommit), warn)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var dropped sync.Map
	migrated(t, b, table, &dropped, s)
	log, err := sqlstore.NewLog(db, b.dialect, table+"_log", warn)
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	migrated(t, b, table+"_log", &dropped, log)
	if len(got) != 0 {
		t.Errorf("warnings %v; want none (a store without group commit and a log on a one-connection pool)", got)
	}
}

// A lone call is sent at once, in a batch of its own: the batcher waits for
// no timer to gather company. In a synctest bubble the clock moves only
// when every goroutine of the bubble waits (for a timer, say); a claim and
// a complete through SQLite, which does its I/O in process, take no time
// on that clock, so no timer was waited on.
func TestLoneCallNotDelayed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		db, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "lone.db")+"?_pragma=busy_timeout(10000)")
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		var sizes []int
		s, err := sqlstore.New(db, sqlstore.SQLite, "lone")
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		sqlstore.SetTestHook(s, func(op string, n int) error {
			sizes = append(sizes, n)
			return nil
		})
		ctx := context.Background()
		if err := s.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		c := idempotency.Claim{Connector: "conn", Key: "k", EventID: "e", Version: 1, LeaseTTL: time.Minute, Retention: time.Hour}
		t0 := time.Now()
		r, err := s.Claim(ctx, c)
		if err != nil || r.Status != idempotency.ClaimAcquired {
			t.Fatalf("claim: %v, %v", r.Status, err)
		}
		if err := s.Complete(ctx, c, r.Token); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(t0); d != 0 {
			t.Errorf("a lone claim and complete waited %v on the clock; want no wait", d)
		}
		if len(sizes) != 2 || sizes[0] != 1 || sizes[1] != 1 {
			t.Errorf("batch sizes %v; want [1 1]", sizes)
		}
	})
}

// A store whose pool keeps no idle connection opens one per batch; it
// warns once, through WithWarn, that the pool churns.
func TestWarnsChurn(t *testing.T) {
	b := backends[2]
	table := uniqueTable("sqlchurn")
	var dropped sync.Map
	_, db := openStore(t, b, table, &dropped)
	db.SetMaxIdleConns(-1) // none: every returned connection is closed
	var mu sync.Mutex
	var got []error
	s, err := sqlstore.New(db, b.dialect, table, sqlstore.WithWarn(func(err error) {
		mu.Lock()
		got = append(got, err)
		mu.Unlock()
	}))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i := range 300 { // the pool is looked at every 256 batches
		c := idempotency.Claim{Connector: "conn", Key: fmt.Sprint("k", i), EventID: "e", LeaseTTL: time.Minute}
		if _, err := s.Claim(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 1 || !errors.Is(got[0], sqlstore.ErrPoolChurn) {
		t.Errorf("warnings %v; want one ErrPoolChurn", got)
	}
}

// Releases and renews of many keys that queue behind a batch in flight go
// together in the next one, and each does what it would alone: renews of
// held leases report true, of others false; released keys are free.
func TestBatchedReleasesAndRenews(t *testing.T) {
	eachOneInflightStore(t, "sqlbrr", func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		const n = 16
		claims, tokens := make([]idempotency.Claim, n), make([]string, n)
		for i := range n {
			claims[i] = idempotency.Claim{Connector: "conn", Key: fmt.Sprint("k", i), EventID: fmt.Sprint("e", i),
				LeaseTTL: time.Minute, Retention: time.Hour}
			r, err := s.Claim(ctx, claims[i])
			if err != nil || r.Status != idempotency.ClaimAcquired {
				t.Fatalf("claim %d: %v, %v", i, r.Status, err)
			}
			tokens[i] = r.Token
		}
		for _, op := range []string{"renew", "release"} {
			h := holdFirstBatch(s, op)
			renewed := make([]bool, n)
			errs := make([]error, n)
			var wg sync.WaitGroup
			call := func(i int) {
				tok := tokens[i]
				if i%4 == 3 {
					tok = "not-the-token"
				}
				if op == "renew" {
					renewed[i], errs[i] = s.Renew(ctx, claims[i], tok)
				} else {
					errs[i] = s.Release(ctx, claims[i], tok)
				}
			}
			wg.Go(func() { call(0) })
			<-h.entered
			for i := 1; i < n; i++ {
				wg.Go(func() { call(i) })
			}
			waitPending(t, s, op, n-1)
			close(h.release)
			wg.Wait()
			if sizes := h.batchSizes(); len(sizes) != 2 || sizes[1] != n-1 {
				t.Errorf("%s batch sizes %v; want [1 %d]", op, sizes, n-1)
			}
			for i := range n {
				if errs[i] != nil {
					t.Errorf("%s %d: %v", op, i, errs[i])
				}
				if op == "renew" && renewed[i] != (i%4 != 3) {
					t.Errorf("renew %d: %v; want %v", i, renewed[i], i%4 != 3)
				}
			}
		}
		sqlstore.SetTestHook(s, nil)
		for i := range n {
			c := claims[i]
			c.EventID = "next"
			r, err := s.Claim(ctx, c)
			want := idempotency.ClaimAcquired
			if i%4 == 3 {
				want = idempotency.ClaimBusy // released with a wrong token: still held
			}
			if err != nil || r.Status != want {
				t.Errorf("claim of k%d after the releases: %v, %v; want %v", i, r.Status, err, want)
			}
		}
	})
}

// oneConnection returns a migrated store and delivery log on one pool of
// a single connection, SQLite's usual pool, in new tables named from
// prefix.
func oneConnection(t *testing.T, b backend, prefix string) (*sqlstore.Store, *sqlstore.Log) {
	t.Helper()
	table := uniqueTable(prefix)
	db := openDB(t, b, table)
	db.SetMaxOpenConns(1)
	store, err := sqlstore.New(db, b.dialect, table)
	if err != nil {
		t.Fatal(err)
	}
	var dropped sync.Map
	migrated(t, b, table, &dropped, store)
	log, err := sqlstore.NewLog(db, b.dialect, table+"_log")
	if err != nil {
		t.Fatal(err)
	}
	migrated(t, b, table+"_log", &dropped, log)
	return store, log
}

// A pool of one connection, SQLite's usual one, serves every kind of batch
// and the delivery log written with Complete: no statement waits for a
// second connection while a transaction holds the only one. It deadlocked
// before inTx prepared its statements first.
func TestOneConnectionPool(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		store, log := oneConnection(t, b, "one")

		fake := synclayertest.NewFake()
		d := synclayertest.NewDispatcher(t, storetest.Records(t, fake), synclayer.WithStore(store), synclayer.WithDeliveryLog(log),
			synclayer.WithObserver(synclayer.NoObserver), synclayer.WithPublisher(storetest.Discard{}))
		ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
		defer cancel()
		var wg sync.WaitGroup
		for i := range 40 {
			wg.Go(func() {
				ev := synclayer.Event{ID: fmt.Sprint("e", i), Type: "WorkflowDeployed", Subject: fmt.Sprint("k", i%8)}
				if _, err := d.Dispatch(ctx, ev); err != nil {
					t.Errorf("dispatch %s: %v", ev.ID, err)
				}
			})
		}
		wg.Wait()
		if n := fake.CallCount(); n != 40 {
			t.Fatalf("%d pushes, want 40", n)
		}
		got, err := d.Deliveries(ctx, synclayer.DeliveryFilter{Limit: 100})
		if err != nil || len(got) != 40 {
			t.Fatalf("%d deliveries logged, %v; want 40", len(got), err)
		}
	})
}

// Close may run while calls do: on a pool of one connection no batch waits
// for a second connection, and no call fails because Close closed its
// statement. A transaction used to look its statements up again in the
// cache that Close empties, and on a miss prepared them on the pool, which
// waited forever for the connection the transaction held.
func TestCloseDuringUse(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		s, log := oneConnection(t, b, "closing")
		defer log.Close()

		stop, closerDone := make(chan struct{}), make(chan struct{})
		var closes atomic.Int64
		go func() {
			defer close(closerDone)
			for {
				select {
				case <-stop:
					return
				default:
				}
				s.Close()
				closes.Add(1)
				runtime.Gosched()
			}
		}()
		var wg sync.WaitGroup
		for g := range 8 {
			wg.Go(func() {
				for i := range 30 {
					// A hung call ends at its deadline, and fails the test.
					ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
					c := idempotency.Claim{Connector: "conn", Key: fmt.Sprint("k", g, "-", i), EventID: fmt.Sprint("e", g, "-", i),
						Version: 1, LeaseTTL: time.Minute, Retention: time.Hour}
					r, err := s.Claim(ctx, c)
					if err == nil {
						if i%2 == 0 {
							err = s.Complete(ctx, c, r.Token)
						} else {
							now := time.Now()
							_, err = s.CompleteLogged(ctx, c, r.Token, log, synclayer.Delivery{EventID: c.EventID, EventType: "T",
								Connector: c.Connector, Key: c.Key, State: synclayer.StatusSynced, Attempts: 1, Updated: now})
						}
					}
					cancel()
					if err != nil {
						t.Errorf("call %d of goroutine %d while Close runs: %v", i, g, err)
						return
					}
				}
			})
		}
		wg.Wait()
		close(stop)
		<-closerDone
		if closes.Load() == 0 {
			t.Error("Close never ran during the calls")
		}
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
}

// TestBatchedCompleteMatchesTokenPerRow: a Complete drops its key's lease
// only when the token it carries is that key's, even when the key's own
// token rides in the same batch: a Complete of key f with key b's token
// (a caller's mix-up) leaves both b's and f's leases in place, as do a
// Complete of b with a wrong token and one with none.
func TestBatchedCompleteMatchesTokenPerRow(t *testing.T) {
	eachOneInflightStore(t, "sqlbctok", func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		claim := func(key, event string, version int64) idempotency.Claim {
			return idempotency.Claim{Connector: "conn", Key: key, EventID: event, Version: version, LeaseTTL: time.Hour, Retention: time.Hour}
		}
		keys := []string{"a", "b", "c", "d", "f"}
		tokens := map[string]string{}
		for _, k := range keys {
			r, err := s.Claim(ctx, claim(k, "e1"+k, 5))
			if err != nil || r.Status != idempotency.ClaimAcquired {
				t.Fatalf("claim %s: %v, %v", k, r.Status, err)
			}
			tokens[k] = r.Token
		}
		carried := map[string]string{"a": tokens["a"], "b": "not-the-token", "c": tokens["c"], "d": "", "f": tokens["b"]}
		h := holdFirstBatch(s, "complete")
		var wg sync.WaitGroup
		wg.Go(func() {
			if err := s.Complete(ctx, claim("z", "ez", 1), ""); err != nil {
				t.Errorf("complete z: %v", err)
			}
		})
		<-h.entered
		for _, k := range keys {
			wg.Go(func() {
				if err := s.Complete(ctx, claim(k, "e1"+k, 5), carried[k]); err != nil {
					t.Errorf("complete %s: %v", k, err)
				}
			})
		}
		waitPending(t, s, "complete", len(keys))
		close(h.release)
		wg.Wait()
		sqlstore.SetTestHook(s, nil)
		if sizes := h.batchSizes(); len(sizes) != 2 || sizes[1] != len(keys) {
			t.Fatalf("complete batch sizes %v; want [1 %d]", sizes, len(keys))
		}
		want := map[string]idempotency.ClaimStatus{"a": idempotency.ClaimAcquired, "b": idempotency.ClaimBusy,
			"c": idempotency.ClaimAcquired, "d": idempotency.ClaimBusy, "f": idempotency.ClaimBusy}
		for _, k := range keys {
			if r, err := s.Claim(ctx, claim(k, "e2"+k, 6)); err != nil || r.Status != want[k] {
				t.Errorf("claim of %s after the completes: %v, %v; want %v", k, r.Status, err, want[k])
			}
		}
	})
}
