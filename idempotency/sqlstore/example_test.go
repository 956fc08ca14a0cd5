package sqlstore_test

import (
	"context"
	"fmt"
	"time"

	"github.com/hmsplatform/synclayer/idempotency"
)

// A store in a local SQLite file: the second claim of a completed event is
// reported done, also by a store opened anew on the same file, as after a
// restart.
func Example() {
	dsn, remove := tempDSN()
	defer remove()
	ctx := context.Background()

	store, db := openSQLite(ctx, dsn)
	c := idempotency.Claim{
		Connector: "calendar", Key: "workflow-42", EventID: "evt-1", Version: 3,
		LeaseTTL: time.Minute, Retention: 24 * time.Hour,
	}
	r, _ := store.Claim(ctx, c)
	fmt.Println("first claim:", r.Status)
	_ = store.Complete(ctx, c, r.Token)
	db.Close()

	restarted, db := openSQLite(ctx, dsn)
	defer db.Close()
	r, _ = restarted.Claim(ctx, c)
	fmt.Println("same event after restart:", r.Status)
	c.EventID, c.Version = "evt-0", 2
	r, _ = restarted.Claim(ctx, c)
	fmt.Println("older version:", r.Status, "last applied", r.Version)

	// Output:
	// first claim: acquired
	// same event after restart: done
	// older version: stale last applied 3
}
