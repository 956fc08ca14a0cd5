// Command workflowsync runs the central use case of synclayer on in-memory
// defaults: when the platform deploys a workflow, a partner calendar, a GIS
// resource planner and a records database must reflect it at once.
//
// It serves three fake partners on 127.0.0.1 (the Google Calendar Events
// API, an ArcGIS feature layer and a records API), wires the library's
// googlecalendar, arcgis and rest connectors to them in Go, deploys the
// workflow in a SQLite database (in a temporary directory) and writes
// WorkflowDeployed in the same transaction through a transactional outbox,
// whose relay publishes it on the in-memory bus once the transaction has
// committed, and prints what happened: the first push, a redelivery of the
// same event (all duplicates, nothing written), a newer version (each
// partner still holds one record, now updated), and a partner that fails
// twice before it succeeds. Then the last act: someone renames the
// workflow by hand at the GIS layer, and a drift reconciler (package
// drift) checks the layer against the platform's database, announces
// DriftDetected, repairs the feature and announces DriftRepaired; and an
// archive records API joins the running Dispatcher, a resync from the
// platform's database brings it up to date, and a second resync pushes
// nothing. examples/configsync prints the same account from sync.yaml.
//
//	go run ./examples/workflowsync
//	go run ./examples/workflowsync -serve 127.0.0.1:8080   # then keep going, with the live dashboard
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"time"

	"google.golang.org/api/calendar/v3"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/connectors/arcgis"
	"github.com/hmsplatform/synclayer/examples/internal/demo"
)

func main() {
	serveAddr := flag.String("serve", "", "after the account, keep running with the live dashboard on this address, e.g. 127.0.0.1:8080 (default off)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	err := run(ctx, os.Stdout)
	if err == nil && *serveAddr != "" {
		err = serveLive(ctx, *serveAddr, os.Stdout)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "workflowsync:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, out io.Writer) error {
	w, err := wire(ctx)
	if err != nil {
		return err
	}
	defer w.close()
	results := demo.NewResultLog()
	d, err := w.dispatcher(synclayer.WithObserver(results))
	if err != nil {
		return err
	}
	err = demo.Account(ctx, out, demo.Setup{Dispatcher: d, Registry: w.reg, Bus: w.bus, Results: results, Partners: w.partners})
	closeCtx, stop := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer stop()
	if cerr := w.bus.Close(closeCtx); err == nil {
		err = cerr
	}
	return err
}

// The mappers: one event, a format for each partner (the records API
// takes the event's data as it is: demo.ToRecord). The event time is the
// version, so an older event arriving late never overwrites a newer one.

func toCalendarEvent(_ context.Context, ev synclayer.Event, w demo.WorkflowDeployed) (synclayer.Record, error) {
	start, err := time.Parse(time.DateOnly, w.StartDate)
	if err != nil {
		return synclayer.Record{}, fmt.Errorf(`field "startDate": %w`, err)
	}
	return synclayer.Record{Key: w.WorkflowID, Version: ev.Time.UnixNano(), Payload: &calendar.Event{
		Summary:     "New Workflow: " + w.Name,
		Description: "ID: " + w.WorkflowID,
		Start:       &calendar.EventDateTime{Date: w.StartDate},
		End:         &calendar.EventDateTime{Date: start.AddDate(0, 0, 1).Format(time.DateOnly)}, // exclusive
	}}, nil
}

func toFeature(_ context.Context, ev synclayer.Event, w demo.WorkflowDeployed) (synclayer.Record, error) {
	return synclayer.Record{Key: w.WorkflowID, Version: ev.Time.UnixNano(), Payload: arcgis.Feature{
		Attributes: map[string]any{"NAME": w.Name, "START_DATE": w.StartDate},
		Geometry:   arcgis.Point{X: 174.7762, Y: -41.2865, SpatialReference: arcgis.SpatialReference{WKID: 4326}},
	}}, nil
}
