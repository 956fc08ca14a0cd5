package outbox_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"modernc.org/sqlite"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/internal/testenv"
	"github.com/hmsplatform/synclayer/outbox"
)

// counting wraps a driver's connections and counts the statements they
// run: executions and queries, and preparations (a driver that cannot
// execute with arguments directly prepares first, then executes the
// prepared statement, which counts once).
type counting struct {
	driver.Connector
	n *atomic.Int64
}

func (c counting) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return &countingConn{Conn: conn, n: c.n}, nil
}

type countingConn struct {
	driver.Conn
	n *atomic.Int64
}

func (c *countingConn) ExecContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Result, error) {
	return countCall(c, func(e driver.ExecerContext) (driver.Result, error) { return e.ExecContext(ctx, q, args) })
}

func (c *countingConn) QueryContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Rows, error) {
	return countCall(c, func(e driver.QueryerContext) (driver.Rows, error) { return e.QueryContext(ctx, q, args) })
}

// countCall makes a call through the connection's optional interface I,
// and counts it unless the driver declined it (driver.ErrSkip, also when
// the connection lacks I): database/sql then prepares the statement, which
// counts.
func countCall[I, T any](c *countingConn, call func(I) (T, error)) (T, error) {
	e, ok := c.Conn.(I)
	if !ok {
		var zero T
		return zero, driver.ErrSkip
	}
	v, err := call(e)
	if err != driver.ErrSkip {
		c.n.Add(1)
	}
	return v, err
}

func (c *countingConn) PrepareContext(ctx context.Context, q string) (driver.Stmt, error) {
	c.n.Add(1)
	if p, ok := c.Conn.(driver.ConnPrepareContext); ok {
		return p.PrepareContext(ctx, q)
	}
	return c.Conn.Prepare(q)
}

func (c *countingConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	return c.Conn.(driver.ConnBeginTx).BeginTx(ctx, opts)
}

func (c *countingConn) CheckNamedValue(nv *driver.NamedValue) error {
	if ch, ok := c.Conn.(driver.NamedValueChecker); ok {
		return ch.CheckNamedValue(nv)
	}
	return driver.ErrSkip
}

func (c *countingConn) ResetSession(ctx context.Context) error {
	if r, ok := c.Conn.(driver.SessionResetter); ok {
		return r.ResetSession(ctx)
	}
	return nil
}

// dsnConnector opens connections of a driver that has no Connector.
type dsnConnector struct {
	d   driver.Driver
	dsn string
}

func (c dsnConnector) Connect(context.Context) (driver.Conn, error) { return c.d.Open(c.dsn) }
func (c dsnConnector) Driver() driver.Driver                        { return c.d }

// TestWriteIsOneStatement counts the statements Write runs: one for 1, 10
// or 2,000 events, none for no event.
func TestWriteIsOneStatement(t *testing.T) {
	eachDB(t, func(t *testing.T, c dbCase) {
		var conn driver.Connector
		switch c.dialect {
		case outbox.Postgres:
			cfg, err := pgx.ParseConfig(testenv.Postgres.Need(t))
			if err != nil {
				t.Fatal(err)
			}
			conn = stdlib.GetConnector(*cfg)
		case outbox.MariaDB:
			cfg, err := mysql.ParseDSN(testenv.MySQL.Need(t))
			if err != nil {
				t.Fatal(err)
			}
			if conn, err = mysql.NewConnector(cfg); err != nil {
				t.Fatal(err)
			}
		default:
			conn = dsnConnector{d: &sqlite.Driver{}, dsn: "file:" + filepath.Join(t.TempDir(), "count.db")}
		}
		var n atomic.Int64
		db := sql.OpenDB(counting{Connector: conn, n: &n})
		t.Cleanup(func() { db.Close() })
		if err := db.PingContext(t.Context()); err != nil {
			testenv.Unavailable(t, c.name, err)
		}
		ob := newOutbox(t, db, c.dialect)
		ctx := t.Context()
		for _, count := range []int{0, 1, 10, 2000} {
			evs := make([]synclayer.Event, count)
			for i := range evs {
				evs[i] = synclayer.Event{ID: fmt.Sprintf("e%d-%d", count, i), Type: "T", Subject: fmt.Sprint(i % 7)}
			}
			tx, err := db.BeginTx(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			before := n.Load()
			if err := ob.Write(ctx, tx, evs...); err != nil {
				t.Fatal(err)
			}
			got := n.Load() - before
			if err := tx.Commit(); err != nil {
				t.Fatal(err)
			}
			if want := int64(min(count, 1)); got != want {
				t.Errorf("Write of %d events ran %d statements, want %d", count, got, want)
			}
		}
		if total, _, err := ob.Backlog(ctx); err != nil || total != 2011 {
			t.Errorf("Backlog() = %d, %v; want 2011", total, err)
		}
	})
}
