package outbox_test

import (
	"context"
	"database/sql"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/bus/memory"
	"github.com/hmsplatform/synclayer/outbox"
)

// The publisher deploys a workflow and writes WorkflowDeployed in the same
// transaction; a relay publishes it to the bus once the transaction has
// committed. Here on SQLite and the in-memory bus; on PostgreSQL only the
// driver and the dialect change.
func Example() {
	dir, err := os.MkdirTemp("", "outbox-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "app.db")+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)")
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	ob, err := outbox.New(db, outbox.SQLite, "outbox", outbox.WithPollInterval(10*time.Millisecond))
	if err != nil {
		log.Fatal(err)
	}
	if err := ob.Migrate(ctx); err != nil {
		log.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, "CREATE TABLE workflows (id TEXT PRIMARY KEY, name TEXT)"); err != nil {
		log.Fatal(err)
	}

	// The relay: committed events to the bus.
	bus, err := memory.New()
	if err != nil {
		log.Fatal(err)
	}
	received := make(chan synclayer.Event, 1)
	subCtx, stopSub := context.WithCancel(ctx)
	subDone := make(chan error, 1)
	go func() {
		subDone <- bus.Subscribe(subCtx, []string{"WorkflowDeployed"}, func(_ context.Context, ev synclayer.Event) error {
			received <- ev
			return nil
		})
	}()
	relayCtx, stopRelay := context.WithCancel(ctx)
	relayDone := make(chan error, 1)
	go func() { relayDone <- ob.Relay(relayCtx, bus) }()

	// The publisher: the change and its event, in one transaction.
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		log.Fatal(err)
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO workflows (id, name) VALUES ('WF-123', 'AutoApproveLowRisk')"); err != nil {
		log.Fatal(err)
	}
	if err := ob.Write(ctx, tx, synclayer.Event{ID: "evt-1", Type: "WorkflowDeployed", Subject: "WF-123",
		Data: []byte(`{"workflowId":"WF-123","name":"AutoApproveLowRisk"}`)}); err != nil {
		log.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		log.Fatal(err)
	}

	ev := <-received
	fmt.Println(ev.ID, ev.Type, ev.Subject, string(ev.Data))
	stopRelay()
	<-relayDone
	stopSub()
	<-subDone
	// Output:
	// evt-1 WorkflowDeployed WF-123 {"workflowId":"WF-123","name":"AutoApproveLowRisk"}
}
