package sqlstore_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	_ "modernc.org/sqlite"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/idempotency/sqlstore"
)

// A delivery log in a local SQLite file beside the store: a push that the
// partner refuses for good is a dead letter, which a restarted process
// still lists and replays once the partner is fixed.
func ExampleNewLog() {
	dir, err := os.MkdirTemp("", "sqlstore-log-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	dsn := "file:" + filepath.Join(dir, "sync.db") + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)"
	ctx := context.Background()

	fixed := false
	partner := synclayer.ConnectorFunc(func(ctx context.Context, rec synclayer.Record) error {
		if !fixed {
			return synclayer.Permanent(errors.New("records: 422 unknown field \"owner\""))
		}
		fmt.Println("pushed", rec.Key)
		return nil
	})
	mapper := synclayer.MapperFunc(func(ctx context.Context, ev synclayer.Event) (synclayer.Record, error) {
		return synclayer.Record{Key: ev.Subject}, nil
	})

	// start opens the database as a process would at start-up.
	start := func() (*synclayer.Dispatcher, *sql.DB) {
		db, err := sql.Open("sqlite", dsn)
		if err != nil {
			panic(err)
		}
		store, err := sqlstore.New(db, sqlstore.SQLite, "synclayer_idempotency")
		if err != nil {
			panic(err)
		}
		log, err := sqlstore.NewLog(db, sqlstore.SQLite, "synclayer_deliveries")
		if err != nil {
			panic(err)
		}
		if err := errors.Join(store.Migrate(ctx), log.Migrate(ctx)); err != nil {
			panic(err)
		}
		reg := new(synclayer.Registry)
		if err := reg.Register("records", partner, synclayer.Route("WorkflowDeployed", mapper)); err != nil {
			panic(err)
		}
		d, err := synclayer.NewDispatcher(reg, synclayer.WithStore(store), synclayer.WithDeliveryLog(log),
			synclayer.WithObserver(synclayer.NoObserver))
		if err != nil {
			panic(err)
		}
		return d, db
	}

	d, db := start()
	ev := synclayer.Event{ID: "evt-1", Type: "WorkflowDeployed", Subject: "WF-123", Data: json.RawMessage(`{"title":"Night shift"}`)}
	_, err = d.Dispatch(ctx, ev)
	fmt.Println("dispatch failed:", err != nil)
	db.Close()

	fixed = true
	d, db = start() // a restarted process
	defer db.Close()
	dead, _ := d.DeadLetters(ctx, synclayer.DeliveryFilter{})
	for _, dl := range dead {
		fmt.Printf("dead letter: %s %s %s: %s\n", dl.EventID, dl.Connector, dl.Key, dl.Error)
	}
	res, _ := d.Replay(ctx, synclayer.DeliveryFilter{})
	fmt.Println("replayed:", res[0].Status)
	res, _ = d.Replay(ctx, synclayer.DeliveryFilter{})
	fmt.Println("replayed again:", len(res))
	// Output:
	// dispatch failed: true
	// dead letter: evt-1 records WF-123: records: 422 unknown field "owner"
	// pushed WF-123
	// replayed: synced
	// replayed again: 0
}
