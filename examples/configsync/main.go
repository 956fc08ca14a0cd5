// Command configsync runs the central use case from configuration:
// examples/workflowsync/sync.yaml names the three partners (a Google
// calendar, an ArcGIS layer for the GIS resource planner, a records API)
// and their CEL mappings; this program starts the same fake partners as
// examples/workflowsync on the addresses the file names, builds the file
// with package config, and prints what happens to a WorkflowDeployed
// event, to its redelivery, to a newer version, and to a records API that
// answers 503 twice.
//
//	go run ./examples/configsync
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/config"
	"github.com/hmsplatform/synclayer/connectors/arcgis/arcgistest"
	"github.com/hmsplatform/synclayer/connectors/googlecalendar"
	"github.com/hmsplatform/synclayer/connectors/googlecalendar/calendartest"
)

// file is the configuration, relative to the module root.
const file = "examples/workflowsync/sync.yaml"

func main() {
	if err := run(context.Background(), file, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "configsync:", err)
		os.Exit(1)
	}
}

// records is the records API: JSON documents by path, PUT upserts, and
// it can be told to answer the next writes with 503.
type records struct {
	mu   sync.Mutex
	docs map[string]string
	fail int
}

func (r *records) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(req.Body, 1<<20))
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail > 0 {
		r.fail--
		w.Header().Set("Retry-After", "0")
		http.Error(w, "partner busy, try again", http.StatusServiceUnavailable)
		return
	}
	if req.Method != http.MethodPut || !json.Valid(body) {
		http.Error(w, "want a PUT of JSON", http.StatusBadRequest)
		return
	}
	r.docs[req.URL.Path] = string(body)
	w.WriteHeader(http.StatusOK)
}

// serve runs h on addr until stop is called.
func serve(addr string, h http.Handler) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s (the address %s names): %w", addr, file, err)
	}
	srv := &http.Server{Handler: h}
	go srv.Serve(ln)
	return func() { srv.Close() }, nil
}

// results collects the results of each event.
type results struct {
	mu   sync.Mutex
	byEv map[string][]synclayer.Result
}

func (r *results) ObserveAttempt(context.Context, synclayer.Attempt) {}

func (r *results) ObserveResult(_ context.Context, ev synclayer.Event, res synclayer.Result) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.byEv[ev.ID] = append(r.byEv[ev.ID], res)
}

// wait returns the n results of an event, sorted by connector.
func (r *results) wait(ctx context.Context, id string, n int) ([]synclayer.Result, error) {
	for {
		r.mu.Lock()
		got := r.byEv[id]
		if len(got) >= n {
			delete(r.byEv, id)
			r.mu.Unlock()
			sort.Slice(got, func(i, j int) bool { return got[i].Connector < got[j].Connector })
			return got, nil
		}
		r.mu.Unlock()
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("event %s: %w", id, ctx.Err())
		case <-time.After(5 * time.Millisecond):
		}
	}
}

func run(ctx context.Context, path string, out io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	cal := calendartest.New()
	gis := arcgistest.NewLayer("WORKFLOW_ID", arcgistest.RequireToken("demo-token"))
	rec := &records{docs: map[string]string{}}
	for addr, h := range map[string]http.Handler{"127.0.0.1:18081": cal, "127.0.0.1:18082": gis, "127.0.0.1:18083": rec} {
		stop, err := serve(addr, h)
		if err != nil {
			return err
		}
		defer stop()
	}

	cfg, err := config.Load(path)
	if err != nil {
		return err
	}
	res := &results{byEv: map[string][]synclayer.Result{}}
	svc, err := config.Build(ctx, cfg,
		config.WithLookupEnv(func(name string) (string, bool) { return "demo-token", name == "GIS_TOKEN" }),
		config.WithLogger(slog.New(slog.DiscardHandler)), config.WithObserver(res))
	if err != nil {
		return err
	}
	defer svc.Close(context.WithoutCancel(ctx))
	runCtx, stopRun := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- svc.Run(runCtx) }()
	defer func() { stopRun(); <-done }()

	t0 := time.Date(2024, 6, 20, 9, 0, 0, 0, time.UTC)
	deployed := func(id string, at time.Time, startDate string) synclayer.Event {
		data, _ := json.Marshal(map[string]string{"workflowId": "WF-123", "name": "AutoApproveLowRisk", "startDate": startDate})
		return synclayer.Event{ID: id, Type: "WorkflowDeployed", Source: "hms/management-layer", Subject: "WF-123", Time: at, Data: data}
	}
	step := func(title string, ev synclayer.Event) error {
		fmt.Fprintln(out, title)
		if err := svc.Bus.Publish(ctx, ev); err != nil {
			return err
		}
		got, err := res.wait(ctx, ev.ID, len(cfg.Partners))
		if err != nil {
			return err
		}
		for _, r := range got {
			fmt.Fprintf(out, "   %-9s %-9s key %s, %d attempt(s)\n", r.Connector, r.Status, r.Key, r.Attempts)
		}
		return nil
	}
	if err := step("1. WorkflowDeployed WF-123 (startDate 2024-07-01) published", deployed("evt-1", t0, "2024-07-01")); err != nil {
		return err
	}
	if err := step("\n2. The bus delivers evt-1 again", deployed("evt-1", t0, "2024-07-01")); err != nil {
		return err
	}
	if err := step("\n3. A newer version moves the start date to 2024-08-01", deployed("evt-2", t0.Add(time.Hour), "2024-08-01")); err != nil {
		return err
	}
	rec.mu.Lock()
	rec.fail = 2
	rec.mu.Unlock()
	if err := step("\n4. The records API is busy: it answers 503 twice", deployed("evt-3", t0.Add(2*time.Hour), "2024-09-01")); err != nil {
		return err
	}

	fmt.Fprintln(out, "\nEach partner holds one record:")
	for _, ev := range cal.Events("ops") {
		fmt.Fprintf(out, "  calendar  %s %q %s..%s %q\n", ev.ExtendedProperties.Private[googlecalendar.PropertyKey], ev.Summary, ev.Start.Date, ev.End.Date, ev.Description)
	}
	for _, f := range gis.Features() {
		fmt.Fprintf(out, "  gis       OBJECTID %d %s %s starts %s\n", f.ObjectID, f.Attributes["WORKFLOW_ID"], f.Attributes["NAME"], f.Attributes["START_DATE"])
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	var paths []string
	for p := range rec.docs {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		fmt.Fprintf(out, "  records   %s %s\n", p, strings.TrimSpace(rec.docs[p]))
	}
	return nil
}
