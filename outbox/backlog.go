package outbox

import (
	"context"
	"fmt"
	"time"
)

// Backlog returns how many events wait in the outbox (written and
// committed, not yet published and deleted), and when the oldest of them
// was written (the zero time when there is none), by the clock of the
// process that wrote it.
func (o *Outbox) Backlog(ctx context.Context) (n int64, oldest time.Time, err error) {
	var ms int64
	if err := o.db.QueryRowContext(ctx, o.backlog).Scan(&n, &ms); err != nil {
		return 0, time.Time{}, fmt.Errorf("outbox: backlog %s: %w", o.table, err)
	}
	if n > 0 {
		oldest = time.UnixMilli(ms)
	}
	return n, oldest, nil
}
