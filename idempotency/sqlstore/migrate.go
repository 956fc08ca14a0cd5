package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"hash/fnv"
	"strconv"
	"time"

	"github.com/hmsplatform/synclayer/idempotency/internal/janitor"
)

// Migrate creates the store's table if it is missing, and adds the
// freshness ledger's columns to a table made before them. It is
// idempotent, and safe when several processes start at once: on
// PostgreSQL it runs under a transaction-scoped advisory lock; MariaDB's
// CREATE TABLE IF NOT EXISTS is atomic; SQLite serialises writers. Like
// [New], it warns through [WithWarn] if the pool's MaxOpenConns is below
// what the batches use (once per store, never with group commit off).
func (s *Store) Migrate(ctx context.Context) error {
	s.checkPool()
	if err := migrate(ctx, s.db, s.dialect, "migrate "+s.table, s.table, s.dialect.schema); err != nil {
		return err
	}
	return s.migrateLedger(ctx)
}

// migrate runs the schema statements of table (each with %s for the
// table's name) in one transaction, under the dialect's migration lock,
// if it has one. what names the step in errors. A transaction the database
// rolled back is run again (retryOn): two SQLite processes that both begin
// and then both write get SQLITE_BUSY at once, without the busy timeout, as
// SQLite's way out of that deadlock.
func migrate(ctx context.Context, db *sql.DB, d *Dialect, what, table string, schema []string) error {
	err := retryOn(ctx, d, func() error { return migrateOnce(ctx, db, d, table, schema) })
	if err != nil {
		return fmt.Errorf("sqlstore: %s: %w", what, err)
	}
	return nil
}

func migrateOnce(ctx context.Context, db *sql.DB, d *Dialect, table string, schema []string) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it is a no-op
	if d.lock != "" {
		h := fnv.New64a()
		h.Write([]byte("synclayer/sqlstore:" + table))
		id := strconv.FormatInt(int64(h.Sum64()), 10)
		if _, err := tx.ExecContext(ctx, fmt.Sprintf(d.lock, id)); err != nil {
			return fmt.Errorf("lock: %w", err)
		}
	}
	for _, q := range schema {
		if _, err := tx.ExecContext(ctx, fmt.Sprintf(q, table)); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// Cleanup deletes expired rows: done-markers past their retention, and key
// rows whose lease has ended and whose last Complete's retention has
// passed (which forgets the key's version), unless the key's ledger
// entry is behind (see the package doc's Freshness ledger). It walks the
// table in primary key order, at most the batch size of rows per step
// (see [WithCleanupBatch]): one statement finds the end of the next
// batch, one deletes its expired rows. So no index on expiry slows the hot path, and
// no statement holds locks on more than one batch. It stops at the end of
// the table or when ctx ends, and returns how many rows it deleted.
func (s *Store) Cleanup(ctx context.Context) (int64, error) {
	var total int64
	var v [nParams]any
	v[pLim] = s.cleanupBatch
	after := []byte{}
	for {
		var upto []byte
		v[pAfter] = after
		err := s.retry(ctx, func() error {
			ps, err := s.prepare(ctx, &s.scan)
			if err != nil {
				return err
			}
			err = ps.QueryRowContext(ctx, s.scan.args(&v)...).Scan(&upto)
			if errors.Is(err, sql.ErrNoRows) {
				upto, err = nil, nil
			}
			return err
		})
		if err != nil {
			return total, fmt.Errorf("sqlstore: cleanup %s: %w", s.table, err)
		}
		if upto == nil {
			return total, nil // past the last row
		}
		v[pUpto] = upto
		var res sql.Result
		err = s.retry(ctx, func() error {
			ps, err := s.prepare(ctx, &s.cleanup)
			if err != nil {
				return err
			}
			res, err = ps.ExecContext(ctx, s.cleanup.args(&v)...)
			return err
		})
		if err != nil {
			return total, fmt.Errorf("sqlstore: cleanup %s: %w", s.table, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return total, fmt.Errorf("sqlstore: cleanup %s: %w", s.table, err)
		}
		total += n
		after = upto
	}
}

// RunJanitor calls [Store.Cleanup] every interval until ctx ends, then
// returns ctx's error. Errors of a round go to onErr (which may be nil) and
// do not stop the janitor. Run it in its own goroutine; cancel ctx to stop
// it, and it returns once the current round has ended.
func (s *Store) RunJanitor(ctx context.Context, every time.Duration, onErr func(error)) error {
	return janitor.Run(ctx, every, onErr, func(ctx context.Context) error { _, err := s.Cleanup(ctx); return err })
}
