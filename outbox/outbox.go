package outbox

import (
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/stdlib"

	"github.com/hmsplatform/synclayer/internal/option"
)

// Errors of this package. Failures of the database are returned wrapped,
// with the operation and the table in the message.
var (
	// ErrConfig: a nil *sql.DB, an unknown dialect or an invalid table name.
	// It matches synclayer.ErrInvalidOption too, as every bad option does.
	ErrConfig = option.Kind("outbox: invalid configuration")
	// ErrTooMany: one Write call got more events than the dialect takes in
	// one statement (16,000 on MariaDB and SQLite; PostgreSQL has no limit).
	ErrTooMany = errors.New("outbox: too many events in one write")
)

// tableName is a plain identifier, short enough for every dialect once
// the suffixes of the index, trigger and function are added.
var tableName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,54}$`)

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
	listens  bool // relays LISTEN: PostgreSQL through pgx, without WithoutNotify

	insert, claim, candidates, lockRows, setLease, remove, release, refuse, backlog string
}

// New returns an outbox in the table of db, written in the dialect. The
// caller opens and closes db. table must be a plain identifier (letters,
// digits and underscores, not starting with a digit, at most 55 bytes).
// New does not touch the database: call [Outbox.Migrate] once before use.
// An invalid option makes it return an error that names the option and
// wraps synclayer.ErrInvalidOption.
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
		batch: defaultBatch, lease: defaultLease}
	if err := option.Apply("outbox: New", o, opts); err != nil {
		return nil, err
	}
	// LISTEN needs the pgx driver; with another the relay only polls, at
	// the ordinary default.
	_, pgx := db.Driver().(*stdlib.Driver)
	o.listens = dialect == Postgres && !o.noNotify && pgx
	if o.poll == 0 {
		o.poll = defaultPoll
		if o.listens {
			o.poll = defaultNotifyPoll
		}
	}
	x := func(s string) string { return d.expand(s, table, o.channel) }
	o.insert, o.claim, o.candidates, o.lockRows = x(d.insert), x(d.claim), x(d.candidates), x(d.lockRows)
	o.setLease, o.remove, o.release, o.backlog = x(d.setLease), x(d.remove), x(d.release), x(backlogQuery)
	o.refuse = strings.NewReplacer(":minwait", strconv.FormatInt(o.minWait().Milliseconds(), 10),
		":maxwait", strconv.FormatInt(o.maxWait().Milliseconds(), 10)).Replace(x(d.refuse))
	return o, nil
}

// Table returns the name of the outbox's table.
func (o *Outbox) Table() string { return o.table }
