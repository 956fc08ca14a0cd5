package sqlstore

import (
	"database/sql"
	"errors"
	"fmt"
	"regexp"

	"github.com/go-sql-driver/mysql"

	"github.com/hmsplatform/synclayer/internal/option"
)

// Errors of this package. Failures of the database are returned wrapped,
// with the operation, connector and key in the message; test them with
// errors.Is against the driver's errors or context errors.
var (
	// ErrInvalidTable: the table name is not a plain SQL identifier.
	ErrInvalidTable = errors.New("sqlstore: invalid table name")
	// ErrConfig: a nil *sql.DB or Dialect. It matches
	// synclayer.ErrInvalidOption too, as every bad option does.
	ErrConfig = option.Kind("sqlstore: invalid configuration")
	// ErrNoAnswer: the database ran a claim but returned no decision, which
	// a working database never does. The store reports it rather than guess.
	ErrNoAnswer = errors.New("sqlstore: database returned no claim decision")
)

// tableName is a plain identifier, short enough for every dialect once the
// index suffix is added (PostgreSQL allows 63 bytes).
var tableName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,56}$`)

// checkArgs checks the positional arguments of the constructor fn.
func checkArgs(fn string, db *sql.DB, dialect *Dialect, table string) error {
	if db == nil || dialect == nil {
		return fmt.Errorf("%w: %s needs a *sql.DB and a Dialect", ErrConfig, fn)
	}
	if !tableName.MatchString(table) {
		return fmt.Errorf("%w: %q (want letters, digits and _, not starting with a digit, at most 57 bytes)", ErrInvalidTable, table)
	}
	return nil
}

// dbAnswered reports whether err is, or wraps, an error that the database
// sent as its answer to a statement (PostgreSQL's, with an SQLSTATE;
// MariaDB's; SQLite's result code), after which the statement, or its
// transaction, was rolled back; any other error may have come after the
// statement committed.
func dbAnswered(err error) bool {
	var pg interface{ SQLState() string }
	var maria *mysql.MySQLError
	var lite interface{ Code() int }
	return errors.As(err, &pg) || errors.As(err, &maria) || errors.As(err, &lite)
}
