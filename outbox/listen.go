package outbox

import (
	"context"
	"database/sql/driver"
	"time"

	"github.com/jackc/pgx/v5/stdlib"
)

// listen wakes a PostgreSQL relay whenever a transaction that wrote to the
// outbox commits: the table's trigger notifies the channel, and
// PostgreSQL delivers notifications only at commit. It holds one
// connection of the pool until ctx ends, and gives up if the driver is
// not pgx (the relay then only polls). After an error it connects again.
func (o *Outbox) listen(ctx context.Context, wake chan<- struct{}) {
	for ctx.Err() == nil {
		conn, err := o.db.Conn(ctx)
		if err != nil {
			sleep(ctx, time.Second, nil)
			continue
		}
		notPgx := false
		err = conn.Raw(func(dc any) error {
			c, ok := dc.(*stdlib.Conn)
			if !ok {
				notPgx = true
				return nil
			}
			pc := c.Conn()
			if _, err := pc.Exec(ctx, `LISTEN "`+o.channel+`"`); err != nil {
				return driver.ErrBadConn
			}
			// Events committed before LISTEN took effect are found by
			// this first wake-up.
			notify(wake)
			for {
				if _, err := pc.WaitForNotification(ctx); err != nil {
					// Never give a listening connection back to the pool.
					return driver.ErrBadConn
				}
				notify(wake)
			}
		})
		conn.Close()
		if notPgx {
			return
		}
		if err != nil && ctx.Err() == nil {
			if o.log != nil {
				o.log.Warn("outbox: listen", "table", o.table, "error", err)
			}
			sleep(ctx, time.Second, nil)
		}
	}
}

// notify wakes the relay unless a wake-up is already pending.
func notify(wake chan<- struct{}) {
	select {
	case wake <- struct{}{}:
	default:
	}
}
