package sqlerr

import (
	"errors"
	"fmt"
	"testing"

	"github.com/go-sql-driver/mysql"
)

type pgErr string

func (e pgErr) Error() string    { return string(e) }
func (e pgErr) SQLState() string { return string(e) }

type liteErr int

func (e liteErr) Error() string { return fmt.Sprint(int(e)) }
func (e liteErr) Code() int     { return int(e) }

func TestRetryable(t *testing.T) {
	wrap := func(err error) error { return fmt.Errorf("exec: %w", err) }
	for _, c := range []struct {
		name string
		f    func(error) bool
		err  error
		want bool
	}{
		{"postgres deadlock", Postgres, wrap(pgErr("40P01")), true},
		{"postgres serialization", Postgres, wrap(pgErr("40001")), true},
		{"postgres unique violation", Postgres, wrap(pgErr("23505")), false},
		{"postgres other error", Postgres, errors.New("x"), false},
		{"mariadb deadlock", MariaDB, wrap(&mysql.MySQLError{Number: 1213}), true},
		{"mariadb lock wait", MariaDB, wrap(&mysql.MySQLError{Number: 1205}), true},
		{"mariadb duplicate", MariaDB, wrap(&mysql.MySQLError{Number: 1062}), false},
		{"mariadb other error", MariaDB, errors.New("x"), false},
		{"sqlite busy", SQLite, wrap(liteErr(5)), true},
		{"sqlite locked", SQLite, wrap(liteErr(6)), true},
		{"sqlite busy snapshot", SQLite, wrap(liteErr(5 | 2<<8)), true},
		{"sqlite constraint", SQLite, wrap(liteErr(19)), false},
		{"sqlite other error", SQLite, errors.New("x"), false},
	} {
		if got := c.f(c.err); got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
		}
	}
}
