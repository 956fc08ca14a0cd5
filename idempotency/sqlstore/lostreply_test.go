package sqlstore_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/stdlib"

	"github.com/hmsplatform/synclayer/idempotency"
	"github.com/hmsplatform/synclayer/idempotency/sqlstore"
)

// errLostReply stands for a connection that broke after the database
// committed a statement and before its answer arrived.
var errLostReply = errors.New("test: connection lost after the statement ran")

// lossyConnector opens PostgreSQL connections whose claims (the queries
// of INSERT statements) run to the end and then, while lose is set, fail
// with errLostReply instead of returning their rows.
type lossyConnector struct {
	driver.Connector
	lose atomic.Bool
}

func (c *lossyConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return &lossyConn{Conn: conn.(*stdlib.Conn), lose: &c.lose}, nil
}

// lossyConn is a pgx connection whose prepared statements are lossyStmts.
type lossyConn struct {
	*stdlib.Conn
	lose *atomic.Bool
}

func (c *lossyConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	st, err := c.Conn.PrepareContext(ctx, query)
	if err != nil || !strings.HasPrefix(query, "INSERT") {
		return st, err
	}
	return &lossyStmt{Stmt: st.(*stdlib.Stmt), lose: c.lose}, nil
}

// lossyStmt loses the answer of its queries while lose is set.
type lossyStmt struct {
	*stdlib.Stmt
	lose *atomic.Bool
}

func (s *lossyStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	rows, err := s.Stmt.QueryContext(ctx, args)
	if err != nil || !s.lose.Load() {
		return rows, err
	}
	dest := make([]driver.Value, len(rows.Columns()))
	for rows.Next(dest) == nil {
	}
	if err := rows.Close(); err != nil {
		return nil, err
	}
	return nil, errLostReply
}

// TestClaimReplyLost: a claim that ran and committed, but whose answer
// was lost (here, after the database sent it), took a lease that nobody
// holds; the store releases it, so the key is not busy for a whole
// LeaseTTL. Batched (five claims in one statement) and not.
func TestClaimReplyLost(t *testing.T) {
	b := backends[0]
	if b.name != "postgres" {
		t.Fatal("backends[0] is not PostgreSQL")
	}
	for _, mode := range []struct {
		name string
		opts []sqlstore.Option
	}{{"batched", []sqlstore.Option{sqlstore.WithInflight(1)}}, {"unbatched", []sqlstore.Option{sqlstore.WithMaxBatch(sqlstore.NoGroupCommit)}}} {
		t.Run(mode.name, func(t *testing.T) {
			table := uniqueTable("sqllost")
			var dropped sync.Map
			openStore(t, b, table, &dropped) // migrates, and drops the table at the end
			inner, err := stdlib.GetDefaultDriver().(driver.DriverContext).OpenConnector(b.dsn(t, table))
			if err != nil {
				t.Fatal(err)
			}
			lc := &lossyConnector{Connector: inner}
			db := sql.OpenDB(lc)
			t.Cleanup(func() { db.Close() })
			s, err := sqlstore.New(db, b.dialect, table, mode.opts...)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			ctx := context.Background()
			claim := func(key, event string) idempotency.Claim {
				return idempotency.Claim{Connector: "conn", Key: key, EventID: event, LeaseTTL: time.Hour, Retention: time.Hour}
			}
			keys := []string{"a", "b", "c", "d", "e"}
			if mode.name == "unbatched" {
				keys = keys[:1]
			}
			lc.lose.Store(true)
			var wg sync.WaitGroup
			var h *heldBatch
			if mode.name == "batched" {
				h = holdFirstBatch(s, "claim")
				wg.Go(func() { s.Claim(ctx, claim("z", "ez")) }) //nolint:errcheck // it only holds the lane
				<-h.entered
			}
			for _, k := range keys {
				wg.Go(func() {
					if r, err := s.Claim(ctx, claim(k, "e1")); !errors.Is(err, errLostReply) {
						t.Errorf("claim of %s whose answer was lost: %v, %v; want errLostReply", k, r.Status, err)
					}
				})
			}
			if h != nil {
				waitPending(t, s, "claim", len(keys))
				close(h.release)
			}
			wg.Wait() // the hook stays: the releases may still be running
			if mode.name == "unbatched" {
				s.Close() // waits for the release, which runs apart from the claim
			}
			if h != nil {
				if sizes := h.batchSizes(); len(sizes) < 2 || sizes[1] != len(keys) {
					t.Fatalf("claim batch sizes %v; want [1 %d ...]", sizes, len(keys))
				}
			}
			lc.lose.Store(false)
			for _, k := range keys {
				if r, err := s.Claim(ctx, claim(k, "e2")); err != nil || r.Status != idempotency.ClaimAcquired {
					t.Errorf("claim of %s after a claim whose answer was lost: %v, %v; want acquired (the lost lease released)", k, r.Status, err)
				}
			}
		})
	}
}

// An unbatched claim that fails without an answer from the database
// returns at its caller's deadline: the release of the lease it may have
// taken runs apart from it, here waiting for the pool's one connection,
// and Close waits for that release.
func TestUnansweredClaimReturnsAtItsDeadline(t *testing.T) {
	b := backends[0]
	var dropped sync.Map
	s, db := openStore(t, b, uniqueTable("sqldeadline"), &dropped, sqlstore.WithMaxBatch(sqlstore.NoGroupCommit))
	db.SetMaxOpenConns(1)
	conn, err := db.Conn(context.Background()) // the pool's one connection, held
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := s.Claim(ctx, idempotency.Claim{Connector: "c", Key: "k", EventID: "e", LeaseTTL: time.Hour})
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("claim = %v, want its ctx's deadline", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("the claim did not return while the pool's connection was held: it waits for its release")
	}
	conn.Close()
	s.Close()
}
