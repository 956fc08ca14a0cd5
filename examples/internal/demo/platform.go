package demo

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"iter"
	"os"
	"path/filepath"
	"time"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/outbox"

	_ "modernc.org/sqlite" // the "sqlite" driver
)

// Platform is the platform's own database (SQLite, in a temporary
// directory): its workflows table, the source of truth, and its
// transactional outbox, whose relay publishes committed events on the bus.
// It is not part of the sync layer: the outbox belongs to the service that
// emits the events.
type Platform struct {
	DB     *sql.DB
	Outbox *outbox.Outbox
	dir    string
}

// OpenPlatform creates the database with its workflows table and its
// outbox. Close closes and removes it.
func OpenPlatform(ctx context.Context) (*Platform, error) {
	dir, err := os.MkdirTemp("", "workflowsync")
	if err != nil {
		return nil, fmt.Errorf("demo: platform database: %w", err)
	}
	p := &Platform{dir: dir}
	p.DB, err = sql.Open("sqlite", "file:"+filepath.Join(dir, "platform.db")+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)")
	if err == nil {
		// event_id and updated_at (the event time, in Unix nanoseconds)
		// say which event last changed the row: the version its records
		// carry at the partners.
		_, err = p.DB.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS workflows (id TEXT PRIMARY KEY, name TEXT NOT NULL,
start_date TEXT NOT NULL, event_id TEXT NOT NULL, updated_at INTEGER NOT NULL)`)
	}
	if err == nil {
		p.Outbox, err = outbox.New(p.DB, outbox.SQLite, "outbox", outbox.WithPollInterval(10*time.Millisecond))
	}
	if err == nil {
		err = p.Outbox.Migrate(ctx)
	}
	if err != nil {
		p.Close()
		return nil, fmt.Errorf("demo: platform database: %w", err)
	}
	return p, nil
}

// Close closes the database and removes its directory.
func (p *Platform) Close() {
	if p.DB != nil {
		p.DB.Close()
	}
	os.RemoveAll(p.dir)
}

// Deploy changes the workflow of ev (a WorkflowDeployed) and writes ev in
// the outbox in one transaction: the event reaches the bus if and only if
// the change commits.
func (p *Platform) Deploy(ctx context.Context, ev synclayer.Event) error {
	var w WorkflowDeployed
	if err := json.Unmarshal(ev.Data, &w); err != nil {
		return fmt.Errorf("deploy %s: %w", ev.ID, err)
	}
	tx, err := p.DB.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("deploy %s: %w", ev.ID, err)
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it is a no-op
	if _, err := tx.ExecContext(ctx, `INSERT INTO workflows (id, name, start_date, event_id, updated_at) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (id) DO UPDATE SET name = excluded.name, start_date = excluded.start_date,
	event_id = excluded.event_id, updated_at = excluded.updated_at`,
		w.WorkflowID, w.Name, w.StartDate, ev.ID, ev.Time.UnixNano()); err != nil {
		return fmt.Errorf("deploy %s: %w", ev.ID, err)
	}
	if err := p.Outbox.Write(ctx, tx, ev); err != nil {
		return fmt.Errorf("deploy %s: %w", ev.ID, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("deploy %s: %w", ev.ID, err)
	}
	return nil
}

// Workflows reads the workflows table as the source of truth: for each
// workflow, in ID order, the WorkflowDeployed event that last changed it,
// with that event's ID and time, so the records it maps to carry the
// version the live event gave them. count is how many there are.
func (p *Platform) Workflows(ctx context.Context) (events iter.Seq2[synclayer.Event, error], count int, err error) {
	if err := p.DB.QueryRowContext(ctx, "SELECT COUNT(*) FROM workflows").Scan(&count); err != nil {
		return nil, 0, fmt.Errorf("count workflows: %w", err)
	}
	return func(yield func(synclayer.Event, error) bool) {
		rows, err := p.DB.QueryContext(ctx, "SELECT id, name, start_date, event_id, updated_at FROM workflows ORDER BY id")
		if err != nil {
			yield(synclayer.Event{}, fmt.Errorf("read workflows: %w", err))
			return
		}
		defer rows.Close()
		for rows.Next() {
			var w WorkflowDeployed
			var id string
			var at int64
			if err := rows.Scan(&w.WorkflowID, &w.Name, &w.StartDate, &id, &at); err != nil {
				yield(synclayer.Event{}, fmt.Errorf("read workflows: %w", err))
				return
			}
			if !yield(Deployed(id, time.Unix(0, at).UTC(), w), nil) {
				return
			}
		}
		if err := rows.Err(); err != nil {
			yield(synclayer.Event{}, fmt.Errorf("read workflows: %w", err))
		}
	}, count, nil
}
