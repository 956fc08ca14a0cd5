package sqlstore

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"sync"
	"time"

	"github.com/hmsplatform/synclayer"
)

// Errors of this package. Failures of the database are returned wrapped,
// with the operation, connector and key in the message; test them with
// errors.Is against the driver's errors or context errors.
var (
	// ErrInvalidTable: the table name is not a plain SQL identifier.
	ErrInvalidTable = errors.New("sqlstore: invalid table name")
	// ErrConfig: a nil *sql.DB or Dialect.
	ErrConfig = errors.New("sqlstore: invalid configuration")
	// ErrNoAnswer: the database ran a claim but returned no decision, which
	// a working database never does. The store reports it rather than guess.
	ErrNoAnswer = errors.New("sqlstore: database returned no claim decision")
)

// tableName is a plain identifier, short enough for every dialect once the
// index suffix is added (PostgreSQL allows 63 bytes).
var tableName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,56}$`)

// Option configures a [Store].
type Option func(*Store)

// WithCleanupBatch sets how many expired rows one statement of
// [Store.Cleanup] deletes at most (default 1000).
func WithCleanupBatch(n int) Option {
	return func(s *Store) {
		if n > 0 {
			s.batch = n
		}
	}
}

// Store is a [synclayer.Store] in a SQL table. It is safe for concurrent
// use, by many goroutines and many processes sharing the database.
type Store struct {
	db      *sql.DB
	dialect *Dialect
	table   string
	batch   int

	claim, completeMark, completeOnly, release, scan, cleanup stmt

	mu       sync.Mutex
	prepared map[*stmt]*sql.Stmt
}

var _ synclayer.Store = (*Store)(nil)

// New returns a store over the table of db, written in the dialect. The
// caller opens and closes db. table must be a plain identifier (letters,
// digits and underscores, not starting with a digit, at most 57 bytes);
// the store also names its index after it. New does not touch the
// database: call [Store.Migrate] once before use.
func New(db *sql.DB, dialect *Dialect, table string, opts ...Option) (*Store, error) {
	if db == nil || dialect == nil {
		return nil, fmt.Errorf("%w: New needs a *sql.DB and a Dialect", ErrConfig)
	}
	if !tableName.MatchString(table) {
		return nil, fmt.Errorf("%w: %q (want letters, digits and _, not starting with a digit, at most 57 bytes)", ErrInvalidTable, table)
	}
	s := &Store{db: db, dialect: dialect, table: table, batch: 1000}
	for _, o := range opts {
		if o != nil {
			o(s)
		}
	}
	s.claim = dialect.compile(dialect.claim, table)
	s.completeMark = dialect.compile(dialect.completeMark, table)
	s.completeOnly = dialect.compile(dialect.completeOnly, table)
	s.release = dialect.compile(dialect.release, table)
	s.scan = dialect.compile(dialect.scan, table)
	s.cleanup = dialect.compile(dialect.cleanup, table)
	return s, nil
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
func rowIDs(c synclayer.Claim) (kid, eid []byte) {
	h := sha256.New()
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(len(c.Connector)))
	h.Write(n[:])
	h.Write([]byte(c.Connector))
	h.Write([]byte(c.Key))
	var sum [sha256.Size]byte
	tag := h.Sum(sum[:0])[:16]
	kid = append(append(make([]byte, 0, 17), tag...), 'k')
	e := sha256.Sum256([]byte(c.EventID))
	eid = append(append(append(make([]byte, 0, 33), tag...), 'e'), e[:16]...)
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

// Claim implements [synclayer.Store] with one INSERT ... ON CONFLICT (ON
// DUPLICATE KEY) UPDATE ... RETURNING statement, which decides done ->
// stale -> busy -> acquired and takes the lease at once.
func (s *Store) Claim(ctx context.Context, c synclayer.Claim) (synclayer.ClaimResult, error) {
	var v [nParams]any
	kid, eid := rowIDs(c)
	v[pKID] = kid
	v[pConn] = bytesOf(c.Connector)
	v[pKey] = bytesOf(c.Key)
	v[pEID] = eid
	v[pVer] = c.Version
	tok := newToken()
	v[pTok] = tok
	v[pTTL] = millis(c.LeaseTTL)
	var (
		gotTok     string
		version    int64
		leaseUntil int64
		doneInRow  bool
		noRow      bool
	)
	err := s.retry(ctx, func() error {
		noRow = false
		ps, err := s.prepare(ctx, &s.claim)
		if err != nil {
			return err
		}
		err = ps.QueryRowContext(ctx, s.claim.args(&v)...).Scan(&gotTok, &version, &leaseUntil, &doneInRow)
		if errors.Is(err, sql.ErrNoRows) {
			// The INSERT ... SELECT selected nothing: the event's
			// done-marker is live.
			noRow = true
			return nil
		}
		return err
	})
	if err != nil {
		return synclayer.ClaimResult{}, s.fail(ctx, "claim", c, err)
	}
	switch {
	case noRow || doneInRow:
		return synclayer.ClaimResult{Status: synclayer.ClaimDone}, nil
	case gotTok == tok:
		return synclayer.ClaimResult{Status: synclayer.ClaimAcquired, Token: tok, Version: version}, nil
	case c.Version != 0 && c.Version <= version:
		return synclayer.ClaimResult{Status: synclayer.ClaimStale, Version: version}, nil
	case leaseUntil > 0:
		return synclayer.ClaimResult{Status: synclayer.ClaimBusy, Version: version, Expires: time.UnixMilli(leaseUntil)}, nil
	}
	return synclayer.ClaimResult{}, s.fail(ctx, "claim", c, ErrNoAnswer)
}

// Complete implements [synclayer.Store] with one statement that upserts the
// event's done-marker row and the key's row (version raised, lease dropped
// if token holds it) together. With a zero Retention no marker is written.
func (s *Store) Complete(ctx context.Context, c synclayer.Claim, token string) error {
	var v [nParams]any
	kid, eid := rowIDs(c)
	v[pKID] = kid
	v[pConn] = bytesOf(c.Connector)
	v[pKey] = bytesOf(c.Key)
	v[pVer] = c.Version
	v[pTok] = token
	st := &s.completeOnly
	if ret := millis(c.Retention); ret > 0 {
		st = &s.completeMark
		v[pEID] = eid
		v[pEName] = bytesOf(c.EventID)
		v[pRet] = ret
	}
	if token == "" {
		v[pTok] = "-" // matches no lease: tokens are hex
	}
	err := s.retry(ctx, func() error { return s.exec(ctx, st, &v) })
	if err != nil {
		return s.fail(ctx, "complete", c, err)
	}
	return nil
}

// Release implements [synclayer.Store]: one UPDATE that drops the lease
// only where token still holds it.
func (s *Store) Release(ctx context.Context, c synclayer.Claim, token string) error {
	if token == "" {
		token = "-"
	}
	var v [nParams]any
	kid, _ := rowIDs(c)
	v[pKID] = kid
	v[pTok] = token
	err := s.retry(ctx, func() error { return s.exec(ctx, &s.release, &v) })
	if err != nil {
		return s.fail(ctx, "release", c, err)
	}
	return nil
}

// prepare returns st prepared on s.db, preparing it on first use:
// database/sql then re-prepares it on each connection once, so that every
// later call is a single round trip (go-sql-driver/mysql would otherwise
// prepare, execute and close each statement).
func (s *Store) prepare(ctx context.Context, st *stmt) (*sql.Stmt, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ps, ok := s.prepared[st]; ok {
		return ps, nil
	}
	ps, err := s.db.PrepareContext(ctx, st.query)
	if err != nil {
		return nil, err
	}
	if s.prepared == nil {
		s.prepared = make(map[*stmt]*sql.Stmt)
	}
	s.prepared[st] = ps
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
// statements again if used.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for _, ps := range s.prepared {
		errs = append(errs, ps.Close())
	}
	s.prepared = nil
	return errors.Join(errs...)
}

// retry runs f, again after errors the dialect reports as rolled back and
// safe to repeat (a deadlock, a busy database), up to 5 times.
func (s *Store) retry(ctx context.Context, f func() error) error {
	wait := 5 * time.Millisecond
	for attempt := 1; ; attempt++ {
		err := f()
		if err == nil || attempt == 5 || s.dialect.retryable == nil || !s.dialect.retryable(err) {
			return err
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
		wait *= 2
	}
}

// fail wraps err with the operation and names; if ctx has ended, the
// error also matches ctx.Err() with errors.Is.
func (s *Store) fail(ctx context.Context, op string, c synclayer.Claim, err error) error {
	what := fmt.Sprintf("sqlstore: %s %s of connector %s, key %s, event %s", s.dialect.name, op,
		quote(c.Connector), quote(c.Key), quote(c.EventID))
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("%s: %w (%w)", what, cerr, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// quote quotes a name for an error message, bounded to 64 bytes.
func quote(s string) string {
	const max = 64
	if len(s) > max {
		return strconv.Quote(s[:max]) + "..." + strconv.Itoa(len(s)) + " bytes"
	}
	return strconv.Quote(s)
}
