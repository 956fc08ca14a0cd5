// Command configsync runs the central use case from configuration:
// examples/workflowsync/sync.yaml names the three partners (a Google
// calendar, an ArcGIS layer for the GIS resource planner, a records API)
// and their CEL mappings; this program starts the same fake partners as
// examples/workflowsync on free ports of 127.0.0.1, resolves the file's
// ${env:...} addresses to them, builds the file with package config, and
// prints the account examples/workflowsync prints: the platform deploys a
// workflow and writes WorkflowDeployed through its transactional outbox
// (SQLite, in a temporary directory), the partners are pushed and the
// result is announced; the bus delivers the event again (all duplicates,
// nothing written); a newer version updates each partner's one record; a
// records API that answers 503 twice is retried.
//
//	go run ./examples/configsync
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"sync"
	"time"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/config"
)

// file is the configuration, relative to the module root.
const file = "examples/workflowsync/sync.yaml"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, file, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "configsync:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, path string, out io.Writer) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	p, err := startPartners()
	if err != nil {
		return err
	}
	defer p.close()

	cfg, err := config.Load(path)
	if err != nil {
		return err
	}
	results := newResultLog()
	svc, err := config.Build(ctx, cfg, config.WithLookupEnv(p.lookupEnv),
		config.WithLogger(slog.New(slog.DiscardHandler)), config.WithObserver(results))
	if err != nil {
		return err
	}
	closeCtx, stopClose := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer stopClose()
	defer svc.Close(closeCtx)
	partnerCount := len(cfg.Partners)

	// The platform's own database: its workflows, and the outbox whose
	// relay publishes the committed events on the bus.
	db, ob, cleanup, err := openPlatformDB(ctx)
	if err != nil {
		return err
	}
	defer cleanup()

	// The service consumes the bus and announces on it (SyncCompleted /
	// SyncFailed); an operator console listens for the announcements.
	var wg sync.WaitGroup
	defer wg.Wait() // after cancel, before the database and the service close
	defer cancel()
	wg.Go(func() {
		if err := svc.Run(ctx); err != nil {
			fmt.Fprintln(out, "run:", err)
		}
	})
	announcements := make(chan synclayer.Event, 8)
	wg.Go(func() {
		_ = svc.Bus.Subscribe(ctx, []string{synclayer.SyncCompleted, synclayer.SyncFailed}, func(_ context.Context, ev synclayer.Event) error {
			announcements <- ev
			return nil
		})
	})
	// The outbox's relay publishes committed events on the bus.
	wg.Go(func() {
		if err := ob.Relay(ctx, svc.Bus); err != nil {
			fmt.Fprintln(out, "relay:", err)
		}
	})
	deploy := func(ctx context.Context, ev synclayer.Event) error { return deployWorkflow(ctx, db, ob, ev) }

	deployed := func(id string, at time.Time, startDate string) synclayer.Event {
		data, _ := json.Marshal(WorkflowDeployed{WorkflowID: "WF-123", Name: "AutoApproveLowRisk", StartDate: startDate})
		return synclayer.Event{ID: id, Type: "WorkflowDeployed", Source: "hms/management-layer", Subject: "WF-123", Time: at, Data: data}
	}
	t0 := time.Date(2024, 6, 20, 9, 0, 0, 0, time.UTC)

	fmt.Fprintln(out, "1. WorkflowDeployed WF-123 (startDate 2024-07-01) published")
	ev1 := deployed("evt-1", t0, "2024-07-01")
	if err := publishAndWait(ctx, deploy, results, ev1, partnerCount); err != nil {
		return err
	}
	fmt.Fprint(out, results.take("evt-1"))
	if err := printAnnouncement(ctx, out, announcements, true); err != nil {
		return err
	}

	fmt.Fprintln(out, "\n2. The bus delivers evt-1 again")
	if err := publishAndWait(ctx, svc.Bus.Publish, results, ev1, partnerCount); err != nil {
		return err
	}
	fmt.Fprint(out, results.take("evt-1"))
	fmt.Fprintln(out, "   nothing was written again, and no second announcement was made")

	fmt.Fprintln(out, "\n3. A newer version moves the start date to 2024-08-01")
	if err := publishAndWait(ctx, deploy, results, deployed("evt-2", t0.Add(time.Hour), "2024-08-01"), partnerCount); err != nil {
		return err
	}
	fmt.Fprint(out, results.take("evt-2"))
	if err := printAnnouncement(ctx, out, announcements, false); err != nil {
		return err
	}
	fmt.Fprintln(out, "   each partner still holds one record, now updated:")
	fmt.Fprint(out, p.describe())

	fmt.Fprintln(out, "\n4. The records API is busy: it answers 503 twice")
	p.records.failNext(2)
	if err := publishAndWait(ctx, deploy, results, deployed("evt-3", t0.Add(2*time.Hour), "2024-09-01"), partnerCount); err != nil {
		return err
	}
	fmt.Fprint(out, results.take("evt-3"))
	if err := printAnnouncement(ctx, out, announcements, false); err != nil {
		return err
	}
	fmt.Fprint(out, p.records.describe())
	return nil
}
