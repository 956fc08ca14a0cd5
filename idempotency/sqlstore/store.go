package sqlstore

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/idempotency"
	"github.com/hmsplatform/synclayer/idempotency/internal/pairhash"
	"github.com/hmsplatform/synclayer/internal/clip"
)

// Store is a [synclayer.Store] in a SQL table. It is safe for concurrent
// use, by many goroutines and many processes sharing the database.
type Store struct {
	db      *sql.DB
	dialect *Dialect
	table   string
	config

	claim, completeMark, completeOnly, release, renew, scan, cleanup stmt
	sql                                                              batchSQL
	led                                                              ledgerStmts

	lanes [opPut]*lane
	pool  poolWatch

	// testHook, when set (by tests), runs before each batch is sent; an
	// error fails the batch as a failed statement would.
	testHook func(op string, n int) error
	// testRetryable, when set (by tests), sees each error that the
	// dialect reports as rolled back and safe to repeat.
	testRetryable func(error)

	// unanswered counts the releases of unbatched claims that lost their
	// answer, which run apart from their callers; Close waits for them.
	unanswered sync.WaitGroup

	mu        sync.Mutex
	prepared  map[*stmt]*sql.Stmt
	preparedQ map[string]*sql.Stmt
}

var (
	_ synclayer.Store          = (*Store)(nil)
	_ idempotency.LeaseRenewer = (*Store)(nil)
	_ synclayer.LogCompleter   = (*Store)(nil)
	_ synclayer.Ledger         = (*Store)(nil)
)

// New returns a store over the table of db, written in the dialect. The
// caller opens and closes db, and keeps its settings: New changes none.
// table must be a plain identifier (letters, digits and underscores, not
// starting with a digit, at most 57 bytes); the store also names its index
// after it. New does not touch the database: call [Store.Migrate] once
// before use. If db's MaxOpenConns is below the connections the store's
// batches use (see [BatchConns]), New warns through [WithWarn]; with group
// commit off (WithMaxBatch([NoGroupCommit])) no batches run, and it does
// not.
func New(db *sql.DB, dialect *Dialect, table string, opts ...Option) (*Store, error) {
	c, err := newConfig("New", db, dialect, table, opts)
	if err != nil {
		return nil, err
	}
	s := &Store{db: db, dialect: dialect, table: table, config: c}
	s.claim = dialect.compile(dialect.claim, table)
	s.completeMark = dialect.compile(dialect.completeMark, table)
	s.completeOnly = dialect.compile(dialect.completeOnly, table)
	s.release = dialect.compile(dialect.release, table)
	if dialect.renew != "" {
		s.renew = dialect.compile(dialect.renew, table)
	}
	if dialect.batch != nil {
		s.sql = dialect.batch(table)
	}
	s.scan = dialect.compile(dialect.scan, table)
	s.compileLedger()
	s.cleanup = dialect.compile(dialect.cleanup, table)
	s.pool = poolWatch{db: db, warn: s.warn}
	runs := [opPut]func(context.Context, []*op) error{
		opClaim: s.runClaims, opComplete: s.runCompletes, opRelease: s.runReleases, opRenew: s.runRenews,
	}
	for k := range s.lanes {
		s.lanes[k] = &lane{kind: opKind(k), max: s.maxBatch, inflight: s.inflight, run: runs[k], retry: s.retry, after: s.pool.after}
	}
	s.lanes[opClaim].left = s.releaseLeft
	s.lanes[opClaim].failed = s.releaseUnanswered
	s.checkPool()
	return s, nil
}

// checkPool warns once if the pool's MaxOpenConns is below what the
// store's batches use. With group commit off no batches run: each call
// takes one connection, as any query does, and there is nothing to warn
// of.
func (s *Store) checkPool() {
	if s.maxBatch > 1 {
		s.pool.check(BatchConns(s.inflight))
	}
}

// Table returns the store's table name.
func (s *Store) Table() string { return s.table }

// rowIDs returns the primary keys of the rows of a claim. The key's row
// is a 16-byte tag, the first half of a SHA-256 of the connector
// (length-prefixed, so no two (connector, key) pairs meet) and the record
// key, followed by 'k'. The event's done-marker row is the same tag, 'e'
// and the first half of a SHA-256 of the event ID: it sorts next to its
// key's row, so a Complete writes one index page rather than two. Names of
// any length and bytes fit in short keys; the names themselves are kept in
// their own column.
func rowIDs(c idempotency.Claim) (kid, eid []byte) {
	tag := pairhash.Sum(c.Connector, c.Key)
	kid = append(append(make([]byte, 0, 17), tag[:]...), 'k')
	e := sha256.Sum256([]byte(c.EventID))
	eid = append(append(append(make([]byte, 0, 33), tag[:]...), 'e'), e[:16]...)
	return kid, eid
}

// bytesOf returns s as a non-nil byte slice (nil would be stored as NULL).
func bytesOf(s string) []byte {
	if s == "" {
		return []byte{}
	}
	return []byte(s)
}

func newToken() string {
	var b [16]byte
	rand.Read(b[:]) // never fails (crypto/rand)
	return hex.EncodeToString(b[:])
}

func millis(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return max(d.Milliseconds(), 1)
}

// newOp returns the op of a call on c.
func newOp(k opKind, c idempotency.Claim, token string) *op {
	kid, eid := rowIDs(c)
	return &op{kind: k, c: c, kid: kid, eid: eid, token: token}
}

// send runs o: with group commit off, alone through single, again after
// errors the dialect reports as safe to repeat; otherwise in the next batch
// of its lane.
func (s *Store) send(ctx context.Context, o *op, single func() error) error {
	if s.maxBatch == 1 {
		return s.retry(ctx, single)
	}
	return s.lanes[o.kind].do(ctx, o)
}

// Claim implements [synclayer.Store]. Concurrent claims go to the database
// together, as one statement that decides each of them done -> stale ->
// busy -> acquired and takes the acquired leases at once.
func (s *Store) Claim(ctx context.Context, c idempotency.Claim) (idempotency.ClaimResult, error) {
	o := newOp(opClaim, c, "")
	var err error
	if s.maxBatch == 1 {
		o.token = newToken()
		err = s.retry(ctx, func() error {
			ps, err := s.prepare(ctx, &s.claim)
			if err != nil {
				return err
			}
			return s.claimOne(ctx, ps, o)
		})
		if err != nil {
			// Apart from the caller, whose ctx may have ended: the
			// release may wait for a connection as long as the claim did.
			s.unanswered.Go(func() { s.releaseUnanswered([]*op{o}, err) })
		} else {
			err = o.err
		}
	} else {
		err = s.lanes[opClaim].do(ctx, o)
	}
	if err != nil {
		return idempotency.ClaimResult{}, s.fail(ctx, "claim", c, err)
	}
	return o.res, nil
}

// releaseLeft releases the leases that a batch of claims took for callers
// who left while it ran: nobody holds their tokens, to renew, complete or
// release them, and the keys would otherwise stay busy for a whole
// LeaseTTL. It is best effort: an error is dropped (the lease then
// expires), and it gives up after the lease's LeaseTTL, when the lease has
// ended anyway. The claim lane runs it before its next batch, so a later
// claim of the key finds the lease gone. The releases run at once, so
// that they gather into the release lane's batches (many callers leave
// together when a process stops).
func (s *Store) releaseLeft(ops []*op) {
	s.releaseEach(ops, func(o *op) string {
		if o.err != nil || o.res.Status != idempotency.ClaimAcquired {
			return ""
		}
		return o.res.Token
	}, 0)
}

// releaseUnanswered releases the leases that claims which failed with err
// may have taken: unless the database answered with an error, which rolled
// the statement back, the claims may have run and committed before their
// answer was lost (a dropped connection, a read that timed out, a context
// that ended mid-flight), and nobody holds their tokens. Each release
// drops a lease only where the claim's token holds it, and is best
// effort: it gives up after the lease's LeaseTTL or releaseWait, whichever
// is shorter (the lease ends by itself anyway).
func (s *Store) releaseUnanswered(ops []*op, err error) {
	if dbAnswered(err) {
		return
	}
	s.releaseEach(ops, func(o *op) string { return o.token }, releaseWait)
}

// releaseEach releases, all at once and best effort, the lease that the
// claim of each op holds by token(o) ("" for none), and waits for them.
// Each gives up after its lease's LeaseTTL, or most if that is sooner
// (0: no sooner), and its error is dropped: the lease expires anyway.
func (s *Store) releaseEach(ops []*op, token func(*op) string, most time.Duration) {
	var wg sync.WaitGroup
	for _, o := range ops {
		tok := token(o)
		if tok == "" || o.c.LeaseTTL <= 0 {
			continue
		}
		limit := o.c.LeaseTTL
		if most > 0 {
			limit = min(limit, most)
		}
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), limit)
			defer cancel()
			s.Release(ctx, o.c, tok) //nolint:errcheck // best effort: the lease expires otherwise
		})
	}
	wg.Wait()
}

// releaseWait bounds a best-effort release of a lease whose claim lost its
// answer.
const releaseWait = 10 * time.Second

// Complete implements [synclayer.Store]: it upserts the event's
// done-marker row and the key's row (version raised, lease dropped if
// token holds it) together, in one statement with the concurrent
// completes of the process. With a zero Retention no marker is written.
func (s *Store) Complete(ctx context.Context, c idempotency.Claim, token string) error {
	o := newOp(opComplete, c, token)
	err := s.send(ctx, o, func() error {
		st, v := s.completeParams(o)
		return s.exec(ctx, st, &v)
	})
	if err != nil {
		return s.fail(ctx, "complete", c, err)
	}
	return nil
}

// Release implements [synclayer.Store]: it drops the lease only where token
// still holds it, in one statement with the concurrent releases of the
// process.
func (s *Store) Release(ctx context.Context, c idempotency.Claim, token string) error {
	o := newOp(opRelease, c, token)
	err := s.send(ctx, o, func() error {
		var v [nParams]any
		v[pKID], v[pTok] = o.kid, tokenOrNone(token)
		return s.exec(ctx, &s.release, &v)
	})
	if err != nil {
		return s.fail(ctx, "release", c, err)
	}
	return nil
}

// Renew implements [idempotency.LeaseRenewer]: it extends the lease that
// token holds on (c.Connector, c.Key) to c.LeaseTTL from now (the
// database's clock), and reports false, changing nothing, when token no
// longer holds it (it was released, completed, or expired and taken). A
// lease that expired but was not taken is still token's, and is renewed.
// Concurrent renews go together, as the other calls do.
func (s *Store) Renew(ctx context.Context, c idempotency.Claim, token string) (bool, error) {
	o := newOp(opRenew, c, token)
	if err := s.send(ctx, o, func() error { return s.runRenews(ctx, []*op{o}) }); err != nil {
		return false, s.fail(ctx, "renew", c, err)
	}
	return o.ok, nil
}

// CompleteLogged implements [synclayer.LogCompleter]. When log is a [*Log]
// on the same *sql.DB and dialect as the store, it does what Complete does
// and puts d in log atomically: on PostgreSQL in one statement (the log's
// upsert rides in a WITH clause), on MariaDB and SQLite in one
// transaction; either way in the same batch as the concurrent completes.
// Otherwise it reports false and does nothing. On an error neither is
// written.
func (s *Store) CompleteLogged(ctx context.Context, c idempotency.Claim, token string, log synclayer.DeliveryLog, d synclayer.Delivery) (bool, error) {
	l, ok := log.(*Log)
	if !ok || l == nil || l.db != s.db || l.dialect != s.dialect {
		return false, nil
	}
	o := newOp(opComplete, c, token)
	args, err := l.putArgs(d)
	if err != nil {
		return true, s.fail(ctx, "complete", c, err)
	}
	o.log, o.logArgs, o.logID = l, args, string(args[0].([]byte))
	if err := s.send(ctx, o, func() error { return s.runCompletes(ctx, []*op{o}) }); err != nil {
		return true, s.fail(ctx, "complete", c, err)
	}
	return true, nil
}

// prepare returns st prepared on s.db, preparing it on first use:
// database/sql then re-prepares it on each connection once, so that every
// later call is a single round trip (go-sql-driver/mysql would otherwise
// prepare, execute and close each statement).
func (s *Store) prepare(ctx context.Context, st *stmt) (*sql.Stmt, error) {
	return prepareOnce(ctx, s.db, &s.mu, &s.prepared, st, st.query)
}

// prepareQ returns the batch statement q prepared on s.db, preparing it
// on first use.
func (s *Store) prepareQ(ctx context.Context, q string) (*sql.Stmt, error) {
	return prepareOnce(ctx, s.db, &s.mu, &s.preparedQ, q, q)
}

// prepareOnce returns the statement cached under k in *cache, preparing
// query on db when there is none. The lock is not held while the database
// prepares: the prepare may wait for a connection that a transaction holds,
// and that transaction may need the cache for a statement already there.
// Two first uses may both prepare; the second closes its copy.
func prepareOnce[K comparable](ctx context.Context, db *sql.DB, mu *sync.Mutex, cache *map[K]*sql.Stmt, k K, query string) (*sql.Stmt, error) {
	mu.Lock()
	ps, ok := (*cache)[k]
	mu.Unlock()
	if ok {
		return ps, nil
	}
	ps, err := db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	mu.Lock()
	defer mu.Unlock()
	if had, ok := (*cache)[k]; ok {
		ps.Close()
		return had, nil
	}
	if *cache == nil {
		*cache = make(map[K]*sql.Stmt)
	}
	(*cache)[k] = ps
	return ps, nil
}

func (s *Store) exec(ctx context.Context, st *stmt, v *[nParams]any) error {
	ps, err := s.prepare(ctx, st)
	if err != nil {
		return err
	}
	_, err = ps.ExecContext(ctx, st.args(v)...)
	return err
}

// Close releases the store's prepared statements. It does not close the
// *sql.DB, which belongs to the caller. A closed store prepares its
// statements again if used, and Close may run while calls do: a call whose
// statement Close closed before it ran prepares it again and runs on, and
// a batch's transaction never asks the pool for another connection (it
// prepares again on its own), so even a pool of one connection serves
// them. Statements prepared again so are released by the next Close.
// It first waits for the releases of unbatched claims that lost their
// answer (see releaseUnanswered), at most releaseWait each.
func (s *Store) Close() error {
	s.unanswered.Wait()
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for _, ps := range s.prepared {
		errs = append(errs, ps.Close())
	}
	for _, ps := range s.preparedQ {
		errs = append(errs, ps.Close())
	}
	s.prepared, s.preparedQ = nil, nil
	return errors.Join(errs...)
}

// retry runs f, again after errors the dialect reports as rolled back and
// safe to repeat (a deadlock, a busy database), up to 5 times.
func (s *Store) retry(ctx context.Context, f func() error) error {
	if seen := s.testRetryable; seen != nil {
		g := f
		f = func() error {
			err := g()
			if err != nil && s.dialect.retryable != nil && s.dialect.retryable(err) {
				seen(err)
			}
			return err
		}
	}
	return retryOn(ctx, s.dialect, f)
}

// fail wraps err with the operation and names; if ctx has ended, the
// error also matches ctx.Err() with errors.Is.
func (s *Store) fail(ctx context.Context, op string, c idempotency.Claim, err error) error {
	what := fmt.Sprintf("sqlstore: %s %s of connector %s, key %s, event %s", s.dialect.name, op,
		quote(c.Connector), quote(c.Key), quote(c.EventID))
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("%s: %w (%w)", what, cerr, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// quote quotes a name for an error message, bounded to 64 bytes.
func quote(s string) string { return strconv.Quote(clip.String(s, 64)) }
