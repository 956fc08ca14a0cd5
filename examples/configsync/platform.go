package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"os"
	"path/filepath"
	"time"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/outbox"

	_ "modernc.org/sqlite" // the "sqlite" driver
)

// The platform's side: its own database, where deploying a workflow and
// writing WorkflowDeployed to the transactional outbox are one
// transaction. It is not part of the sync layer's configuration: the
// outbox belongs to the service that emits the events, and its relay
// publishes on the bus the configuration names.

// WorkflowDeployed is the Data of the platform's WorkflowDeployed event.
type WorkflowDeployed struct {
	WorkflowID string `json:"workflowId"`
	Name       string `json:"name"`
	StartDate  string `json:"startDate"` // yyyy-mm-dd
}

// deployWorkflow changes the workflow and writes its event in one
// transaction: the event reaches the bus if and only if the change commits.
func deployWorkflow(ctx context.Context, db *sql.DB, ob *outbox.Outbox, ev synclayer.Event) error {
	var w WorkflowDeployed
	if err := json.Unmarshal(ev.Data, &w); err != nil {
		return err
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it is a no-op
	if _, err := tx.ExecContext(ctx, `INSERT INTO workflows (id, name, start_date) VALUES (?, ?, ?)
ON CONFLICT (id) DO UPDATE SET name = excluded.name, start_date = excluded.start_date`, w.WorkflowID, w.Name, w.StartDate); err != nil {
		return err
	}
	if err := ob.Write(ctx, tx, ev); err != nil {
		return err
	}
	return tx.Commit()
}

// openPlatformDB opens the platform's SQLite database in a temporary
// directory, with its workflows table and its outbox. cleanup closes and
// removes it.
func openPlatformDB(ctx context.Context) (db *sql.DB, ob *outbox.Outbox, cleanup func(), err error) {
	dir, err := os.MkdirTemp("", "configsync")
	if err != nil {
		return nil, nil, nil, err
	}
	db, err = sql.Open("sqlite", "file:"+filepath.Join(dir, "platform.db")+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)")
	if err == nil {
		_, err = db.ExecContext(ctx, "CREATE TABLE IF NOT EXISTS workflows (id TEXT PRIMARY KEY, name TEXT NOT NULL, start_date TEXT NOT NULL)")
	}
	if err == nil {
		ob, err = outbox.New(db, outbox.SQLite, "outbox", outbox.WithPollInterval(10*time.Millisecond))
	}
	if err == nil {
		err = ob.Migrate(ctx)
	}
	cleanup = func() {
		if db != nil {
			db.Close()
		}
		os.RemoveAll(dir)
	}
	if err != nil {
		cleanup()
		return nil, nil, nil, err
	}
	return db, ob, cleanup, nil
}
