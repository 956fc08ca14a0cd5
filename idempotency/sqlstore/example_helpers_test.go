package sqlstore_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	_ "modernc.org/sqlite"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/idempotency/sqlstore"
)

// The examples' setup: a SQLite file in a directory of its own, opened as a
// process opens it at start-up.

// tempDSN returns the DSN of a SQLite file in a new temporary directory,
// with a busy timeout and write-ahead logging, and the function that
// removes the directory.
func tempDSN() (dsn string, remove func()) {
	dir, err := os.MkdirTemp("", "sqlstore-example")
	if err != nil {
		panic(err)
	}
	dsn = "file:" + filepath.Join(dir, "sync.db") + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)"
	return dsn, func() { os.RemoveAll(dir) }
}

// openSQLite opens the database at dsn and the store in it, and migrates
// its table; opts go to sqlstore.New.
func openSQLite(ctx context.Context, dsn string, opts ...sqlstore.Option) (*sqlstore.Store, *sql.DB) {
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		panic(err)
	}
	store, err := sqlstore.New(db, sqlstore.SQLite, "synclayer_idempotency", opts...)
	if err != nil {
		panic(err)
	}
	if err := store.Migrate(ctx); err != nil {
		panic(err)
	}
	return store, db
}

// recordsDispatcher returns a Dispatcher that pushes each WorkflowDeployed
// event to partner, connector "records", keyed by the event's subject.
func recordsDispatcher(partner synclayer.Connector, opts ...synclayer.Option) *synclayer.Dispatcher {
	mapper := synclayer.MapperFunc(func(ctx context.Context, ev synclayer.Event) (synclayer.Record, error) {
		return synclayer.Record{Key: ev.Subject}, nil
	})
	reg := new(synclayer.Registry)
	if err := reg.Register("records", partner, synclayer.Route("WorkflowDeployed", mapper)); err != nil {
		panic(err)
	}
	d, err := synclayer.NewDispatcher(reg, append([]synclayer.Option{synclayer.WithObserver(synclayer.NoObserver)}, opts...)...)
	if err != nil {
		panic(err)
	}
	return d
}

// refusingPartner refuses every record for good until *fixed, and then
// prints the key of each record it takes.
func refusingPartner(fixed *bool) synclayer.Connector {
	return synclayer.ConnectorFunc(func(ctx context.Context, rec synclayer.Record) error {
		if !*fixed {
			return synclayer.Permanent(errors.New(`records: 422 unknown field "owner"`))
		}
		fmt.Println("pushed", rec.Key)
		return nil
	})
}
