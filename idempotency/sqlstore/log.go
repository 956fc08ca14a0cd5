package sqlstore

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/idempotency"
	"github.com/hmsplatform/synclayer/idempotency/internal/janitor"
	"github.com/hmsplatform/synclayer/idempotency/internal/jsontext"
	"github.com/hmsplatform/synclayer/idempotency/internal/pairhash"
)

// Log is a [synclayer.DeliveryLog] in a SQL table: one row per (event,
// connector), so that the dispatcher's dead letters and pending routes
// survive a restart and are shared by every process on the database. It is
// safe for concurrent use, by many goroutines and many processes.
type Log struct {
	db      *sql.DB
	dialect *Dialect
	table   string
	config

	put     string // the upsert
	upsert  string // its ON CONFLICT (ON DUPLICATE KEY) clause
	columns string // the columns List reads, in scan order

	puts *lane
	pool poolWatch

	mu       sync.Mutex
	prepared *sql.Stmt // put, prepared on first use
}

var (
	_ synclayer.DeliveryLog  = (*Log)(nil)
	_ idempotency.DurableLog = (*Log)(nil)
)

// Durable implements [idempotency.DurableLog]: the entries are in the
// database, so they survive a restart of the process.
func (l *Log) Durable() bool { return true }

// logColumns are the columns of the log's table in the order of Put's
// parameters; the first is the primary key.
var logColumns = []string{"id", "event_hash", "conn_hash", "event_id", "event_type", "connector", "record_key",
	"state", "attempts", "first_ns", "last_ns", "duration_ns", "last_error", "partner_id", "payload_hash",
	"updated_ns", "event_json"}

// NewLog returns a delivery log over the table of db, written in the
// dialect. The caller opens and closes db. table must be a plain
// identifier, as for [New], and must not be the table of a [Store]; the
// log also names its indexes after it (table_u, table_c, table_e). NewLog
// does not touch the database: call [Log.Migrate] once before use.
func NewLog(db *sql.DB, dialect *Dialect, table string, opts ...Option) (*Log, error) {
	c, err := newConfig("NewLog", db, dialect, table, opts)
	if err != nil {
		return nil, err
	}
	l := &Log{db: db, dialect: dialect, table: table, config: c}
	l.pool = poolWatch{db: db, warn: c.warn}
	l.puts = &lane{kind: opPut, max: l.maxBatch, inflight: l.inflight, run: l.runPuts,
		retry: func(ctx context.Context, f func() error) error { return retryOn(ctx, dialect, f) }, after: l.pool.after}
	ph := make([]string, len(logColumns))
	set := make([]string, 0, len(logColumns)-1)
	for i, c := range logColumns {
		ph[i] = dialect.placeholder(i + 1)
		if i > 0 {
			set = append(set, fmt.Sprintf(dialect.logSet, c))
		}
	}
	l.upsert = fmt.Sprintf(dialect.logUpsert, strings.Join(set, ", "))
	l.put = fmt.Sprintf("INSERT INTO %s (%s) VALUES (%s) %s", table, strings.Join(logColumns, ", "),
		strings.Join(ph, ", "), l.upsert)
	l.columns = strings.Join(logColumns[3:], ", ")
	return l, nil
}

// Table returns the log's table name.
func (l *Log) Table() string { return l.table }

// Migrate creates the log's table and indexes if they are missing. It is
// idempotent and safe when several processes start at once, as
// [Store.Migrate] is.
func (l *Log) Migrate(ctx context.Context) error {
	return migrate(ctx, l.db, l.dialect, "migrate log "+l.table, l.table, l.dialect.logSchema)
}

// Put implements [synclayer.DeliveryLog] with one upsert of the row of
// (d.EventID, d.Connector), replacing every column. Concurrent Puts go to
// the database together, as one multi-row upsert per round trip; two Puts
// of one entry never share a statement, so the later one wins.
func (l *Log) Put(ctx context.Context, d synclayer.Delivery) error {
	args, err := l.putArgs(d)
	if err != nil {
		return l.fail(ctx, "put", d.EventID, d.Connector, err)
	}
	if l.maxBatch == 1 {
		err = retryOn(ctx, l.dialect, func() error {
			ps, err := l.prepare(ctx)
			if err != nil {
				return err
			}
			_, err = ps.ExecContext(ctx, args...)
			return err
		})
	} else {
		err = l.puts.do(ctx, &op{kind: opPut, log: l, logArgs: args, logID: string(args[0].([]byte))})
	}
	if err != nil {
		return l.fail(ctx, "put", d.EventID, d.Connector, err)
	}
	return nil
}

// putArgs returns the parameters of the upsert of d, in the order of
// logColumns.
func (l *Log) putArgs(d synclayer.Delivery) ([]any, error) {
	ev, err := encodeEvent(d.Event)
	if err != nil {
		return nil, err
	}
	return []any{
		logRowID(d.EventID, d.Connector), hash64(d.EventID), hash64(d.Connector),
		bytesOf(d.EventID), bytesOf(d.EventType), bytesOf(d.Connector), bytesOf(d.Key),
		int64(d.State), int64(d.Attempts), nanos(d.FirstAttempt), nanos(d.LastAttempt), int64(d.Duration),
		bytesOf(d.Error), bytesOf(d.PartnerID), bytesOf(d.PayloadHash), nanos(d.Updated), ev,
	}, nil
}

// runPuts sends a batch of Puts as one multi-row upsert.
func (l *Log) runPuts(ctx context.Context, ops []*op) error {
	if len(ops) == 1 {
		ps, err := l.prepare(ctx)
		if err != nil {
			return err
		}
		_, err = ps.ExecContext(ctx, ops[0].logArgs...)
		return err
	}
	ops = slices.Clone(ops)
	byLogID(ops)
	args := make([]any, 0, len(ops)*len(logColumns))
	for _, o := range ops {
		args = append(args, o.logArgs...)
	}
	_, err := l.db.ExecContext(ctx, l.putMany(len(ops), 1), args...)
	return err
}

// putMany returns the upsert of n entries, its placeholders numbered from
// first (for dialects that number them).
func (l *Log) putMany(n, first int) string {
	var b strings.Builder
	b.WriteString("INSERT INTO ")
	b.WriteString(l.table)
	b.WriteString(" (")
	b.WriteString(strings.Join(logColumns, ", "))
	b.WriteString(") VALUES ")
	p := first
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('(')
		for j := range logColumns {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteString(l.dialect.placeholder(p))
			p++
		}
		b.WriteByte(')')
	}
	b.WriteByte(' ')
	b.WriteString(l.upsert)
	return b.String()
}

// List implements [synclayer.DeliveryLog] with one SELECT, newest first.
// A filter on the event uses the event's index, one on the connector (and
// states) the connector's, and an unfiltered list the index on the update
// time.
func (l *Log) List(ctx context.Context, f synclayer.DeliveryFilter) ([]synclayer.Delivery, error) {
	var (
		where []string
		args  []any
	)
	arg := func(v any) string {
		args = append(args, v)
		return l.dialect.placeholder(len(args))
	}
	// Each hashed column narrows the search through an index; the exact
	// name beside it rules out collisions.
	if f.EventID != "" && f.Connector != "" {
		where = append(where, "id = "+arg(logRowID(f.EventID, f.Connector)))
	}
	if f.EventID != "" {
		where = append(where, "event_hash = "+arg(hash64(f.EventID)), "event_id = "+arg(bytesOf(f.EventID)))
	}
	if f.Connector != "" {
		where = append(where, "conn_hash = "+arg(hash64(f.Connector)), "connector = "+arg(bytesOf(f.Connector)))
	}
	if f.EventType != "" {
		where = append(where, "event_type = "+arg(bytesOf(f.EventType)))
	}
	if f.Key != "" {
		where = append(where, "record_key = "+arg(bytesOf(f.Key)))
	}
	if len(f.States) > 0 {
		where = append(where, "state IN ("+stateList(f.States...)+")")
	}
	if !f.Since.IsZero() {
		where = append(where, "updated_ns >= "+arg(nanos(f.Since)))
	}
	q := "SELECT " + l.columns + " FROM " + l.table
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY updated_ns DESC, id DESC LIMIT " + strconv.Itoa(f.Max())

	var out []synclayer.Delivery
	err := retryOn(ctx, l.dialect, func() error {
		out = out[:0]
		rows, err := l.db.QueryContext(ctx, q, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			d, err := scanDelivery(rows)
			if err != nil {
				return err
			}
			out = append(out, d)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, l.fail(ctx, "list", f.EventID, f.Connector, err)
	}
	return out, nil
}

// scanDelivery reads one row of List's columns.
func scanDelivery(rows *sql.Rows) (synclayer.Delivery, error) {
	var (
		eventID, eventType, conn, key, lastErr, partner, payload, evJSON []byte
		state, attempts, first, last, dur, updated                       int64
	)
	if err := rows.Scan(&eventID, &eventType, &conn, &key, &state, &attempts, &first, &last, &dur,
		&lastErr, &partner, &payload, &updated, &evJSON); err != nil {
		return synclayer.Delivery{}, err
	}
	d := synclayer.Delivery{
		EventID: string(eventID), EventType: string(eventType), Connector: string(conn), Key: string(key),
		State: synclayer.Status(state), Attempts: int(attempts),
		FirstAttempt: fromNanos(first), LastAttempt: fromNanos(last), Duration: time.Duration(dur),
		Error: string(lastErr), PartnerID: string(partner), PayloadHash: string(payload), Updated: fromNanos(updated),
	}
	if evJSON != nil {
		ev, err := decodeEvent(evJSON)
		if err != nil {
			return synclayer.Delivery{}, fmt.Errorf("decode the event of %s: %w", quote(d.EventID), err)
		}
		// JSON keeps only valid UTF-8: restore the exact ID and type
		// from their own columns when they are the same text.
		if ev.ID == jsontext.Kept(d.EventID) {
			ev.ID = d.EventID
		}
		if ev.Type == jsontext.Kept(d.EventType) {
			ev.Type = d.EventType
		}
		d.Event = ev
	}
	return d, nil
}

// The states [Log.Cleanup] removes after the retention: outcomes, and
// pushes under way that are older than the retention (their process died
// mid-push; a redelivery of the event makes a new entry). Dead and failed
// entries wait for the dead-letter retention; pending ones are never
// removed.
var (
	expiringStates = []synclayer.Status{synclayer.StatusInProgress, synclayer.StatusSynced,
		synclayer.StatusDuplicate, synclayer.StatusStale}
	deadStates = []synclayer.Status{synclayer.StatusFailed, synclayer.StatusDead}
)

// Cleanup deletes the entries that the retention lets go, and returns how
// many it deleted:
//
//   - synced, duplicate and stale entries, and in-progress ones (left by
//     a process that died mid-push), updated more than olderThan ago;
//   - dead and failed entries (dead letters) only when [WithDeadRetention]
//     is set, once updated more than that retention (or olderThan, if
//     longer) ago;
//   - pending entries never: they are pushed, and so replaced, when their
//     connector resumes.
//
// Each statement deletes at most the batch size of entries (see
// [WithCleanupBatch]), so no statement holds many locks; Cleanup runs
// statements until one deletes less than a batch, or ctx ends. Times are
// the entries' Updated times against this process's clock. olderThan <= 0
// deletes nothing.
func (l *Log) Cleanup(ctx context.Context, olderThan time.Duration) (int64, error) {
	if olderThan <= 0 {
		return 0, nil
	}
	now := time.Now()
	cond := "(state IN (" + stateList(expiringStates...) + ") AND updated_ns < " + l.dialect.placeholder(1) + ")"
	args := []any{nanos(now.Add(-olderThan))}
	if l.deadRetention > 0 {
		cond += " OR (state IN (" + stateList(deadStates...) + ") AND updated_ns < " + l.dialect.placeholder(2) + ")"
		args = append(args, nanos(now.Add(-max(l.deadRetention, olderThan))))
	}
	q := fmt.Sprintf(l.dialect.logCleanup, l.table, cond, l.dialect.placeholder(len(args)+1))
	args = append(args, int64(l.cleanupBatch))
	var total int64
	for {
		var n int64
		err := retryOn(ctx, l.dialect, func() error {
			res, err := l.db.ExecContext(ctx, q, args...)
			if err != nil {
				return err
			}
			n, err = res.RowsAffected()
			return err
		})
		if err != nil {
			err = fmt.Errorf("sqlstore: %s cleanup of log %s: %w", l.dialect.name, l.table, err)
			if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
				err = fmt.Errorf("%w (%w)", err, cerr)
			}
			return total, err
		}
		total += n
		if n < int64(l.cleanupBatch) {
			return total, nil
		}
	}
}

// RunJanitor calls [Log.Cleanup] with olderThan every interval (default a
// minute) until ctx ends, then returns ctx's error. Errors of a round go to
// onErr (which may be nil) and do not stop the janitor.
func (l *Log) RunJanitor(ctx context.Context, every, olderThan time.Duration, onErr func(error)) error {
	return janitor.Run(ctx, every, onErr, func(ctx context.Context) error { _, err := l.Cleanup(ctx, olderThan); return err })
}

// Close releases the log's prepared statement. It does not close the
// *sql.DB, which belongs to the caller. A closed log prepares its
// statement again if used.
func (l *Log) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.prepared == nil {
		return nil
	}
	err := l.prepared.Close()
	l.prepared = nil
	return err
}

// prepare returns the upsert prepared on l.db, preparing it on first use.
func (l *Log) prepare(ctx context.Context) (*sql.Stmt, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.prepared != nil {
		return l.prepared, nil
	}
	ps, err := l.db.PrepareContext(ctx, l.put)
	if err != nil {
		return nil, err
	}
	l.prepared = ps
	return ps, nil
}

// fail wraps err with the operation and names; if ctx has ended, the
// error also matches ctx.Err() with errors.Is.
func (l *Log) fail(ctx context.Context, op, eventID, connector string, err error) error {
	what := fmt.Sprintf("sqlstore: %s %s of log %s", l.dialect.name, op, l.table)
	if eventID != "" {
		what += ", event " + quote(eventID)
	}
	if connector != "" {
		what += ", connector " + quote(connector)
	}
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("%s: %w (%w)", what, cerr, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// logRowID is the primary key of (event, connector): the first 16 bytes of
// a SHA-256 of the event ID (length-prefixed, so no two pairs meet) and the
// connector.
func logRowID(eventID, connector string) []byte {
	id := pairhash.Sum(eventID, connector)
	return id[:]
}

// hash64 is the indexed stand-in of a name of any length: the first 8
// bytes of its SHA-256, as a signed integer.
func hash64(s string) int64 {
	sum := sha256.Sum256([]byte(s))
	return int64(binary.BigEndian.Uint64(sum[:8]))
}

// stateList renders states as a SQL list of integers.
func stateList(states ...synclayer.Status) string {
	parts := make([]string, len(states))
	for i, s := range states {
		parts[i] = strconv.Itoa(int(s))
	}
	return strings.Join(parts, ", ")
}

// nanos is t in Unix nanoseconds; the zero time is 0.
func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// fromNanos inverts nanos.
func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}

// storedEvent is the JSON form of an event in the log: the event's own
// JSON, with Data kept as JSON when it is compact, valid UTF-8 JSON (so that
// it reads as itself in the table), otherwise moved to DataBase64, so that
// its bytes come back exact.
type storedEvent struct {
	synclayer.Event
	DataBase64 []byte `json:"dataBase64,omitempty"`
}

// encodeEvent returns ev as JSON text, or nil (SQL NULL) for no event.
func encodeEvent(ev *synclayer.Event) (any, error) {
	if ev == nil {
		return nil, nil
	}
	se := storedEvent{Event: *ev}
	if len(ev.Data) > 0 {
		var c bytes.Buffer
		if !utf8.Valid(ev.Data) || json.Compact(&c, ev.Data) != nil || !bytes.Equal(c.Bytes(), ev.Data) {
			se.Data, se.DataBase64 = nil, ev.Data
		}
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(se); err != nil {
		return nil, fmt.Errorf("encode the event: %w", err)
	}
	return strings.TrimSuffix(b.String(), "\n"), nil
}

// decodeEvent inverts encodeEvent.
func decodeEvent(b []byte) (*synclayer.Event, error) {
	var se storedEvent
	if err := json.Unmarshal(b, &se); err != nil {
		return nil, err
	}
	if se.DataBase64 != nil {
		se.Data = json.RawMessage(se.DataBase64)
	}
	return &se.Event, nil
}
