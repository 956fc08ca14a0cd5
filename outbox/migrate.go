package outbox

import (
	"context"
	"fmt"
	"hash/fnv"
)

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
