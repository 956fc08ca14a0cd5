package outbox

import "fmt"

// Dialect names the SQL flavour of the outbox's database. Its values are
// the names the dialects of package idempotency/sqlstore report from their
// String method, so Dialect(sqlstore.Postgres.String()) is [Postgres].
type Dialect string

// The supported dialects.
const (
	// Postgres is PostgreSQL 10 or later through the driver "pgx" of
	// github.com/jackc/pgx/v5/stdlib. With that driver the relay wakes on
	// LISTEN/NOTIFY; with another it polls (every 100ms by default).
	// Only pgx is tested: Write and the relay pass Go slices ([][]byte,
	// []int64) as array parameters, which another driver may not take.
	Postgres Dialect = "postgres"
	// MariaDB is MariaDB 10.6 or later (it needs SKIP LOCKED), through
	// github.com/go-sql-driver/mysql.
	MariaDB Dialect = "mariadb"
	// SQLite is SQLite 3.42 or later (it needs RETURNING, and
	// unixepoch('subsec') for the clock in milliseconds), for example
	// through the driver "sqlite" of modernc.org/sqlite. Open the database
	// with a busy timeout ("_pragma=busy_timeout(10000)") so that the relay
	// and the writers wait for each other instead of failing.
	//
	// Migrate creates the table with AUTOINCREMENT ids, never reused. A
	// table created by an earlier version has ids that a drained table
	// reuses, so that a relay whose publish outlived its lease can delete
	// a newer event by its id unpublished: to upgrade it, stop the
	// writers, let the relays drain it, stop them, drop the table and
	// Migrate again.
	SQLite Dialect = "sqlite"
)

// String returns the dialect's name: "postgres", "mariadb" or "sqlite".
func (d Dialect) String() string { return string(d) }

// MarshalText encodes the dialect as its name. An unknown dialect is an
// error.
func (d Dialect) MarshalText() ([]byte, error) {
	if _, ok := dialects[d]; !ok {
		return nil, fmt.Errorf("outbox: unknown dialect %q", string(d))
	}
	return []byte(d), nil
}

// UnmarshalText decodes a dialect name. An unknown name is an error, and
// leaves d as it was.
func (d *Dialect) UnmarshalText(b []byte) error {
	if _, ok := dialects[Dialect(b)]; !ok {
		return fmt.Errorf("outbox: unknown dialect %q (want %q, %q or %q)", b, Postgres, MariaDB, SQLite)
	}
	*d = Dialect(b)
	return nil
}
