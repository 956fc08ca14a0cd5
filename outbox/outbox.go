package outbox

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/hmsplatform/synclayer"
)

// Errors of this package. Failures of the database are returned wrapped,
// with the operation and the table in the message.
var (
	// ErrConfig: a nil *sql.DB, an unknown dialect or an invalid table name.
	ErrConfig = errors.New("outbox: invalid configuration")
	// ErrTooMany: one Write call got more events than the dialect takes in
	// one statement (16,000 on MariaDB and SQLite; PostgreSQL has no limit).
	ErrTooMany = errors.New("outbox: too many events in one write")
)

// maxSubject is the longest Subject (or, for an event without a subject,
// ID) that Write accepts, in bytes.
const maxSubject = 1024

// tableName is a plain identifier, short enough for every dialect once
// the suffixes of the index, trigger and function are added.
var tableName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,54}$`)

// Option configures an [Outbox].
type Option func(*Outbox)

// WithBatch sets how many events one relay round claims at most (default
// 256). The round publishes them together (they all have different
// subjects): with one PublishBatch call when the publisher is a
// [synclayer.BatchPublisher], else with concurrent Publish calls.
func WithBatch(n int) Option {
	return func(o *Outbox) {
		if n > 0 {
			o.batch = n
		}
	}
}

// WithLease sets how long a relay's claim on an event lasts (default 10s).
// A relay that dies loses its claims after this time, and another relay
// publishes the events again. A relay gives up a publish after half of it.
// Values below 100ms are taken as 100ms.
func WithLease(d time.Duration) Option {
	return func(o *Outbox) { o.lease = max(d, 100*time.Millisecond) }
}

// WithPollInterval sets how long an idle relay waits before it looks for
// new events again (default 100ms; on PostgreSQL with the pgx driver,
// where NOTIFY wakes the relay at each commit, 1s).
func WithPollInterval(d time.Duration) Option {
	return func(o *Outbox) {
		if d > 0 {
			o.poll = d
		}
	}
}

// WithLogger sets where a relay reports the failures it retries: a
// database error, an event the publisher refused (default: nowhere).
func WithLogger(l *slog.Logger) Option { return func(o *Outbox) { o.log = l } }

// WithoutNotify makes a PostgreSQL relay poll instead of listening for
// the outbox's notifications (default: listen when the driver is pgx).
func WithoutNotify() Option { return func(o *Outbox) { o.noNotify = true } }

// Outbox writes events into a table of the caller's database inside the
// caller's transactions, and relays the committed ones to a bus. It is safe
// for concurrent use; any number of relays, in one process or many, may
// share its table.
type Outbox struct {
	db       *sql.DB
	d        *dialect
	name     Dialect
	table    string
	channel  string
	batch    int
	lease    time.Duration
	poll     time.Duration
	log      *slog.Logger
	noNotify bool

	insert, claim, candidates, lockRows, setLease, remove, release, backlog string
}

// New returns an outbox in the table of db, written in the dialect. The
// caller opens and closes db. table must be a plain identifier (letters,
// digits and underscores, not starting with a digit, at most 55 bytes).
// New does not touch the database: call [Outbox.Migrate] once before use.
func New(db *sql.DB, dialect Dialect, table string, opts ...Option) (*Outbox, error) {
	if db == nil {
		return nil, fmt.Errorf("%w: New needs a *sql.DB", ErrConfig)
	}
	d, ok := dialects[dialect]
	if !ok {
		return nil, fmt.Errorf("%w: unknown dialect %q (want %q, %q or %q)", ErrConfig, string(dialect), Postgres, MariaDB, SQLite)
	}
	if !tableName.MatchString(table) {
		return nil, fmt.Errorf("%w: table name %q (want letters, digits and _, not starting with a digit, at most 55 bytes)", ErrConfig, table)
	}
	o := &Outbox{db: db, d: d, name: dialect, table: table, channel: strings.ToLower(table),
		batch: 256, lease: 10 * time.Second}
	for _, opt := range opts {
		if opt != nil {
			opt(o)
		}
	}
	if o.poll == 0 {
		o.poll = 100 * time.Millisecond
		if dialect == Postgres && !o.noNotify {
			o.poll = time.Second
		}
	}
	x := func(s string) string { return d.expand(s, table, o.channel) }
	o.insert, o.claim, o.candidates, o.lockRows = x(d.insert), x(d.claim), x(d.candidates), x(d.lockRows)
	o.setLease, o.remove, o.release, o.backlog = x(d.setLease), x(d.remove), x(d.release), x(d.backlog)
	return o, nil
}

// Table returns the name of the outbox's table.
func (o *Outbox) Table() string { return o.table }

// Migrate creates the outbox's table, its index and, on PostgreSQL, the
// trigger that notifies relays of each insert, if they are missing. It is
// idempotent and safe when several processes start at once.
func (o *Outbox) Migrate(ctx context.Context) error {
	tx, err := o.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("outbox: migrate %s: %w", o.table, err)
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it is a no-op
	if o.d.lock != "" {
		h := fnv.New64a()
		h.Write([]byte("synclayer/outbox:" + o.table))
		if _, err := tx.ExecContext(ctx, fmt.Sprintf(o.d.lock, lockID(h.Sum64()))); err != nil {
			return fmt.Errorf("outbox: migrate %s: lock: %w", o.table, err)
		}
	}
	for _, q := range o.d.schema {
		if _, err := tx.ExecContext(ctx, o.d.expand(q, o.table, o.channel)); err != nil {
			return fmt.Errorf("outbox: migrate %s: %w", o.table, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("outbox: migrate %s: %w", o.table, err)
	}
	return nil
}

// Write adds evs to the outbox inside tx, with one statement whatever
// their number (none for no events). They become visible to the relays only
// if tx commits; a rollback leaves no trace of them. Events of one Subject
// are published in the order of their rows, which is the order of their
// transactions' commits when those are serialised on the subject (see the
// package doc); within one call, in the order given.
//
// Each event needs an ID and a Type, and Data, if set, must be valid JSON
// (the error wraps [synclayer.ErrInvalidEvent]). Its Subject (or, if empty,
// its ID) may be at most 1024 bytes.
func (o *Outbox) Write(ctx context.Context, tx *sql.Tx, evs ...synclayer.Event) error {
	if len(evs) == 0 {
		return nil
	}
	if tx == nil {
		return fmt.Errorf("%w: Write needs a *sql.Tx", ErrConfig)
	}
	if o.d.maxRows > 0 && len(evs) > o.d.maxRows {
		return fmt.Errorf("%w: %d events, at most %d on %s", ErrTooMany, len(evs), o.d.maxRows, o.name)
	}
	// One buffer for all subjects and documents; ends[i] is where event
	// i's pair ends.
	size := 0
	for _, ev := range evs {
		size += encodedSize(ev)
	}
	buf := make([]byte, 0, size)
	type span struct{ key, body int }
	ends := make([]span, len(evs))
	for i, ev := range evs {
		if ev.ID == "" || ev.Type == "" {
			return fmt.Errorf("outbox: write %s: event %d (%q): %w: needs an ID and a Type", o.table, i, ev.ID, synclayer.ErrInvalidEvent)
		}
		n := len(buf)
		buf = appendSubjectKey(buf, ev)
		if k := len(buf) - n; k > maxSubject+1 {
			return fmt.Errorf("outbox: write %s: event %q: %w: subject of %d bytes, at most %d", o.table, ev.ID, synclayer.ErrInvalidEvent, k-1, maxSubject)
		}
		ends[i].key = len(buf)
		var err error
		if buf, err = encodeEvent(buf, ev); err != nil {
			return fmt.Errorf("outbox: write %s: event %q: %w: %w", o.table, ev.ID, synclayer.ErrInvalidEvent, err)
		}
		ends[i].body = len(buf)
	}
	subjects := make([][]byte, len(evs))
	bodies := make([][]byte, len(evs))
	start := 0
	for i, e := range ends {
		subjects[i], bodies[i] = buf[start:e.key:e.key], buf[e.key:e.body:e.body]
		start = e.body
	}
	var err error
	if o.d.insertArrays {
		_, err = tx.ExecContext(ctx, o.insert, subjects, bodies, time.Now().UnixMilli())
	} else {
		// The clock of the writer, as a literal: one value for all rows.
		row := strings.ReplaceAll(o.d.insertRow, ":now", strconv.FormatInt(time.Now().UnixMilli(), 10))
		var q strings.Builder
		q.Grow(len(o.insert) + len(evs)*(len(row)+2))
		q.WriteString(o.insert)
		args := make([]any, 0, 2*len(evs))
		for i := range evs {
			if i > 0 {
				q.WriteString(", ")
			}
			q.WriteString(row)
			args = append(args, subjects[i], bodies[i])
		}
		_, err = tx.ExecContext(ctx, q.String(), args...)
	}
	if err != nil {
		return fmt.Errorf("outbox: write %s: %d events, first %q: %w", o.table, len(evs), evs[0].ID, err)
	}
	return nil
}

// appendSubjectKey appends the key an event's order is kept under: its
// Subject, or, for an event without one, its ID (such events are ordered
// against nothing). A prefix keeps the two kinds apart.
func appendSubjectKey(dst []byte, ev synclayer.Event) []byte {
	if ev.Subject != "" {
		return append(append(dst, 's'), ev.Subject...)
	}
	return append(append(dst, 'i'), ev.ID...)
}

// Backlog returns how many events wait in the outbox (written and
// committed, not yet published and deleted), and when the oldest of them
// was written (the zero time when there is none), by the clock of the
// process that wrote it.
func (o *Outbox) Backlog(ctx context.Context) (n int64, oldest time.Time, err error) {
	var ms int64
	if err := o.db.QueryRowContext(ctx, o.backlog).Scan(&n, &ms); err != nil {
		return 0, time.Time{}, fmt.Errorf("outbox: backlog %s: %w", o.table, err)
	}
	if n > 0 {
		oldest = time.UnixMilli(ms)
	}
	return n, oldest, nil
}
