package sqlstore_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/idempotency/sqlstore"
)

// A holder keeps its short lease alive with Renew while its push runs;
// once it releases the lease, renewing it reports false.
func ExampleStore_Renew() {
	dir, err := os.MkdirTemp("", "sqlstore-renew")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "sync.db")+"?_pragma=busy_timeout(10000)")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer db.Close()
	// Room for the store's batches; see the package doc on pool sizing.
	db.SetMaxIdleConns(sqlstore.BatchConns(2))
	store, err := sqlstore.New(db, sqlstore.SQLite, "synclayer_idempotency",
		sqlstore.WithWarn(func(err error) { fmt.Println("warning:", err) }))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer store.Close()
	ctx := context.Background()
	if err := store.Migrate(ctx); err != nil {
		fmt.Println(err)
		return
	}

	c := synclayer.Claim{Connector: "calendar", Key: "WF-1", EventID: "evt-1", Version: 1,
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
