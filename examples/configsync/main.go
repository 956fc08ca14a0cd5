// Command configsync runs the central use case from configuration:
// examples/workflowsync/sync.yaml names the three partners (a Google
// calendar, an ArcGIS layer for the GIS resource planner, a records API)
// and their CEL mappings; this program starts the same fake partners as
// examples/workflowsync on free ports of 127.0.0.1, resolves the file's
// ${env:...} addresses to them, builds the file with package config, and
// prints the account examples/workflowsync prints, line for line (both run
// it from package examples/internal/demo; only how the Dispatcher is
// built differs): the platform deploys a workflow and writes
// WorkflowDeployed through its transactional outbox (SQLite, in a
// temporary directory), the partners are pushed and the result is
// announced; the bus delivers the event again (all duplicates, nothing
// written); a newer version updates each partner's one record; a records
// API that answers 503 twice is retried; a record edited by hand at the
// GIS layer is detected and repaired by a drift reconciler; and an archive
// records API, registered in Go on the built Registry while it runs, is
// brought up to date by a resync from the platform's database, which a
// second resync finds nothing left to push.
//
//	go run ./examples/configsync
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"time"

	"github.com/hmsplatform/synclayer/config"
	"github.com/hmsplatform/synclayer/examples/internal/demo"
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
	p, err := demo.StartPartners()
	if err != nil {
		return err
	}
	defer p.Close()

	cfg, err := config.Load(path)
	if err != nil {
		return err
	}
	results := demo.NewResultLog()
	svc, err := config.Build(ctx, cfg, config.WithLookupEnv(lookupEnv(p)),
		config.WithLogger(slog.New(slog.DiscardHandler)), config.WithObserver(results))
	if err != nil {
		return err
	}
	err = demo.Account(ctx, out, demo.Setup{Dispatcher: svc.Dispatcher, Registry: svc.Registry, Bus: svc.Bus, Results: results, Partners: p})
	closeCtx, stop := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer stop()
	if cerr := svc.Close(closeCtx); err == nil {
		err = cerr
	}
	return err
}

// lookupEnv resolves the references of sync.yaml to the fakes.
func lookupEnv(p *demo.Partners) func(string) (string, bool) {
	env := map[string]string{
		"CALENDAR_ENDPOINT": p.CalendarURL + "/",
		"GIS_LAYER_URL":     p.GISLayerURL,
		"RECORDS_URL":       p.RecordsURL,
		"GIS_TOKEN":         demo.GISToken, // in production: a secret from the environment or a file
	}
	return func(name string) (string, bool) {
		v, ok := env[name]
		return v, ok
	}
}
