package sqlstore_test

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/idempotency/sqlstore"
)

// A delivery log in a local SQLite file beside the store: a push that the
// partner refuses for good is a dead letter, which a restarted process
// still lists and replays once the partner is fixed.
func ExampleNewLog() {
	dsn, remove := tempDSN()
	defer remove()
	ctx := context.Background()
	fixed := false
	partner := refusingPartner(&fixed)

	// start opens the store and the log as a process would at start-up.
	start := func() (*synclayer.Dispatcher, func() error) {
		store, db := openSQLite(ctx, dsn)
		log, err := sqlstore.NewLog(db, sqlstore.SQLite, "synclayer_deliveries")
		if err != nil {
			panic(err)
		}
		if err := log.Migrate(ctx); err != nil {
			panic(err)
		}
		return recordsDispatcher(partner, synclayer.WithStore(store), synclayer.WithDeliveryLog(log)), db.Close
	}

	d, closeDB := start()
	ev := synclayer.Event{ID: "evt-1", Type: "WorkflowDeployed", Subject: "WF-123", Data: json.RawMessage(`{"title":"Night shift"}`)}
	_, err := d.Dispatch(ctx, ev)
	fmt.Println("dispatch failed:", err != nil)
	closeDB()

	fixed = true
	d, closeDB = start() // a restarted process
	defer closeDB()
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
