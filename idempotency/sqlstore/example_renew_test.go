package sqlstore_test

import (
	"context"
	"fmt"
	"time"

	"github.com/hmsplatform/synclayer/idempotency"
	"github.com/hmsplatform/synclayer/idempotency/sqlstore"
)

// A holder keeps its short lease alive with Renew while its push runs;
// once it releases the lease, renewing it reports false.
func ExampleStore_Renew() {
	dsn, remove := tempDSN()
	defer remove()
	ctx := context.Background()
	store, db := openSQLite(ctx, dsn, sqlstore.WithWarn(func(err error) { fmt.Println("warning:", err) }))
	defer db.Close()
	defer store.Close()
	// Room for the store's batches; see the package doc on pool sizing.
	db.SetMaxIdleConns(sqlstore.BatchConns(2))

	c := idempotency.Claim{Connector: "calendar", Key: "WF-1", EventID: "evt-1", Version: 1,
		LeaseTTL: 10 * time.Second, Retention: time.Hour}
	r, err := store.Claim(ctx, c)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("claim:", r.Status)
	ok, err := store.Renew(ctx, c, r.Token) // every TTL/3 while the push runs
	fmt.Println("renewed:", ok, err)
	if err := store.Release(ctx, c, r.Token); err != nil {
		fmt.Println(err)
		return
	}
	ok, err = store.Renew(ctx, c, r.Token)
	fmt.Println("renewed after release:", ok, err)
	// Output:
	// claim: acquired
	// renewed: true <nil>
	// renewed after release: false <nil>
}
