// Package sqlerr tells, for each SQL dialect the idempotency store and the
// outbox speak, which errors rolled the statement back and leave it safe to
// run again: a deadlock, a serialisation failure, a busy database.
package sqlerr

import (
	"errors"

	"github.com/go-sql-driver/mysql"
)

// Postgres reports a PostgreSQL deadlock (40P01) or serialization failure
// (40001), found by the SQLState method that pgx's and lib/pq's errors have.
func Postgres(err error) bool {
	var e interface{ SQLState() string }
	if errors.As(err, &e) {
		switch e.SQLState() {
		case "40P01", "40001": // deadlock_detected, serialization_failure
			return true
		}
	}
	return false
}

// MariaDB reports a MariaDB deadlock (1213) or lock wait timeout (1205).
// Both roll back the statement.
func MariaDB(err error) bool {
	var e *mysql.MySQLError
	return errors.As(err, &e) && (e.Number == 1213 || e.Number == 1205)
}

// SQLite reports SQLITE_BUSY or SQLITE_LOCKED as the primary result code of
// an error with a Code method (modernc.org/sqlite's).
func SQLite(err error) bool {
	var e interface{ Code() int }
	if errors.As(err, &e) {
		switch e.Code() & 0xff { // primary result code
		case 5, 6: // SQLITE_BUSY, SQLITE_LOCKED
			return true
		}
	}
	return false
}
