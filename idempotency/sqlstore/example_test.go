package sqlstore_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"time"

	_ "modernc.org/sqlite"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/idempotency/sqlstore"
)

// A store in a local SQLite file: the second claim of a completed event is
// reported done, also by a store opened anew on the same file, as after a
// restart.
func Example() {
	dir, err := os.MkdirTemp("", "sqlstore-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	dsn := "file:" + filepath.Join(dir, "sync.db") + "?_pragma=busy_timeout(10000)"

	ctx := context.Background()
	open := func() (*sqlstore.Store, *sql.DB) {
		db, err := sql.Open("sqlite", dsn)
		if err != nil {
			panic(err)
		}
		store, err := sqlstore.New(db, sqlstore.SQLite, "synclayer_idempotency")
		if err != nil {
			panic(err)
		}
		if err := store.Migrate(ctx); err != nil {
			panic(err)
		}
		return store, db
	}

	store, db := open()
	c := synclayer.Claim{
		Connector: "calendar", Key: "workflow-42", EventID: "evt-1", Version: 3,
		LeaseTTL: time.Minute, Retention: 24 * time.Hour,
	}
	r, _ := store.Claim(ctx, c)
	fmt.Println("first claim:", r.Status)
	_ = store.Complete(ctx, c, r.Token)
	db.Close()

	restarted, db2 := open()
	defer db2.Close()
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
