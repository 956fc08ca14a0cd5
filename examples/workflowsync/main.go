// Command workflowsync runs the central use case of synclayer on in-memory
// defaults: when the platform deploys a workflow, a partner calendar, a GIS
// resource planner and a records database must reflect it at once.
//
// It serves three fake partners on 127.0.0.1 (the Google Calendar Events
// API, an ArcGIS feature layer and a records API), wires the library's
// googlecalendar, arcgis and rest connectors to them, deploys the workflow
// in a SQLite database (in a temporary directory) and writes
// WorkflowDeployed in the same transaction through a transactional outbox,
// whose relay publishes it on the in-memory bus once the transaction has
// committed, and prints what happened: the first
// push, a redelivery of the same event (all duplicates, nothing written), a
// newer version (each partner still holds one record, now updated), and a
// partner that fails twice before it succeeds.
//
//	go run ./examples/workflowsync
//	go run ./examples/workflowsync -serve 127.0.0.1:8080   # then keep going, with the live dashboard
package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"google.golang.org/api/calendar/v3"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/bus/memory"
	"github.com/hmsplatform/synclayer/connectors/arcgis"
	"github.com/hmsplatform/synclayer/connectors/arcgis/arcgistest"
	"github.com/hmsplatform/synclayer/connectors/googlecalendar"
	"github.com/hmsplatform/synclayer/connectors/googlecalendar/calendartest"
	"github.com/hmsplatform/synclayer/connectors/rest"
	"github.com/hmsplatform/synclayer/outbox"

	_ "modernc.org/sqlite" // the "sqlite" driver
)

// WorkflowDeployed is the Data of the platform's WorkflowDeployed event.
type WorkflowDeployed struct {
	WorkflowID string `json:"workflowId"`
	Name       string `json:"name"`
	StartDate  string `json:"startDate"` // yyyy-mm-dd
}

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

// partners are the three fake partner systems and the connectors to them.
type partners struct {
	calendar *calendartest.Fake
	gis      *arcgistest.Layer
	records  *partner
	stops    []func()
}

func (p *partners) close() {
	for _, stop := range p.stops {
		stop()
	}
}

func startPartners(ctx context.Context, reg *synclayer.Registry) (*partners, error) {
	p := &partners{calendar: calendartest.New(), records: newPartner("records"),
		gis: arcgistest.NewLayer("WORKFLOW_ID", arcgistest.RequireToken("demo-token"))}
	urls := make([]string, 3)
	for i, h := range []http.Handler{p.calendar, p.gis, p.records} {
		u, stop, err := serve(h)
		if err != nil {
			p.close()
			return nil, err
		}
		urls[i] = u
		p.stops = append(p.stops, stop)
	}

	svc, err := p.calendar.Service(ctx, urls[0], nil) // in production: the caller's credentials
	if err != nil {
		return nil, err
	}
	cal, err := googlecalendar.New(googlecalendar.Config{Service: svc, CalendarID: "ops"})
	if err != nil {
		return nil, err
	}
	gis, err := arcgis.New(arcgis.Config{
		LayerURL:     urls[1] + "/arcgis/rest/services/Workflows/FeatureServer/0",
		KeyField:     "WORKFLOW_ID",
		VersionField: "SYNC_VERSION",
		Token:        "demo-token",
	})
	if err != nil {
		return nil, err
	}
	records, err := rest.New(rest.Config{BaseURL: urls[2], Name: "records"})
	if err != nil {
		return nil, err
	}
	p.stops = append(p.stops, func() { records.Close() })

	// One connector per partner, each with its own mapping of the event.
	retry := synclayer.WithRetry(synclayer.RetryPolicy{InitialInterval: 50 * time.Millisecond, MaxAttempts: 5})
	for _, c := range []struct {
		name string
		conn synclayer.Connector
		m    synclayer.Mapper
	}{
		{"calendar", cal, synclayer.MapJSON(toCalendarEvent)},
		{"gis", gis, synclayer.MapJSON(toFeature)},
		{"records", records, synclayer.MapJSON(toRecord)},
	} {
		if err := reg.Register(c.name, c.conn, synclayer.Route("WorkflowDeployed", c.m), retry); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// describe says what each partner holds.
func (p *partners) describe() string {
	var b bytes.Buffer
	evs := p.calendar.Events("ops")
	fmt.Fprintf(&b, "  calendar  %d event(s)\n", len(evs))
	for _, ev := range evs {
		fmt.Fprintf(&b, "            %s %q %s..%s (%s)\n", ev.ExtendedProperties.Private[googlecalendar.PropertyKey], ev.Summary, ev.Start.Date, ev.End.Date, ev.Status)
	}
	fs := p.gis.Features()
	fmt.Fprintf(&b, "  gis       %d feature(s)\n", len(fs))
	for _, f := range fs {
		fmt.Fprintf(&b, "            OBJECTID %d %s %s starts %s\n", f.ObjectID, f.Attributes["WORKFLOW_ID"], f.Attributes["NAME"], f.Attributes["START_DATE"])
	}
	b.WriteString(p.records.describe())
	return b.String()
}

func run(ctx context.Context, out io.Writer) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	reg := new(synclayer.Registry)
	p, err := startPartners(ctx, reg)
	if err != nil {
		return err
	}
	defer p.close()

	bus, err := memory.New()
	if err != nil {
		return err
	}
	results := newResultLog()
	d, err := synclayer.NewDispatcher(reg,
		synclayer.WithPublisher(bus), // SyncCompleted / SyncFailed go back on the bus
		synclayer.WithObserver(results),
		synclayer.WithSource("examples/workflowsync"))
	if err != nil {
		return err
	}

	// The dispatcher consumes the bus; an operator console listens for the
	// announcements.
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := d.Run(ctx, bus); err != nil {
			fmt.Fprintln(out, "run:", err)
		}
	})
	announcements := make(chan synclayer.Event, 8)
	wg.Go(func() {
		_ = bus.Subscribe(ctx, []string{synclayer.SyncCompleted, synclayer.SyncFailed}, func(_ context.Context, ev synclayer.Event) error {
			announcements <- ev
			return nil
		})
	})

	// The platform's own database: its workflows, and the outbox whose
	// relay publishes the committed events on the bus.
	db, ob, cleanup, err := openPlatformDB(ctx)
	if err != nil {
		return err
	}
	defer cleanup()
	wg.Go(func() {
		if err := ob.Relay(ctx, bus); err != nil {
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
	if err := publishAndWait(ctx, deploy, results, ev1, 3); err != nil {
		return err
	}
	fmt.Fprint(out, results.take("evt-1"))
	if err := printAnnouncement(ctx, out, announcements, true); err != nil {
		return err
	}

	fmt.Fprintln(out, "\n2. The bus delivers evt-1 again")
	if err := publishAndWait(ctx, bus.Publish, results, ev1, 3); err != nil {
		return err
	}
	fmt.Fprint(out, results.take("evt-1"))
	fmt.Fprintln(out, "   nothing was written again, and no second announcement was made")

	fmt.Fprintln(out, "\n3. A newer version moves the start date to 2024-08-01")
	if err := publishAndWait(ctx, deploy, results, deployed("evt-2", t0.Add(time.Hour), "2024-08-01"), 3); err != nil {
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
	if err := publishAndWait(ctx, deploy, results, deployed("evt-3", t0.Add(2*time.Hour), "2024-09-01"), 3); err != nil {
		return err
	}
	fmt.Fprint(out, results.take("evt-3"))
	if err := printAnnouncement(ctx, out, announcements, false); err != nil {
		return err
	}
	fmt.Fprint(out, p.records.describe())

	cancel()
	wg.Wait()
	closeCtx, stop := context.WithTimeout(context.Background(), 5*time.Second)
	defer stop()
	return bus.Close(closeCtx)
}

// The mappers: one event, three partner formats. The event time is the
// version, so an older event arriving late never overwrites a newer one.

func toCalendarEvent(_ context.Context, ev synclayer.Event, w WorkflowDeployed) (synclayer.Record, error) {
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

func toFeature(_ context.Context, ev synclayer.Event, w WorkflowDeployed) (synclayer.Record, error) {
	return synclayer.Record{Key: w.WorkflowID, Version: ev.Time.UnixNano(), Payload: arcgis.Feature{
		Attributes: map[string]any{"NAME": w.Name, "START_DATE": w.StartDate},
		Geometry:   arcgis.Point{X: 174.7762, Y: -41.2865, SpatialReference: arcgis.SpatialReference{WKID: 4326}},
	}}, nil
}

func toRecord(_ context.Context, ev synclayer.Event, w WorkflowDeployed) (synclayer.Record, error) {
	return synclayer.Record{Key: w.WorkflowID, Version: ev.Time.UnixNano(), Payload: w}, nil
}

// resultLog is an Observer that collects results per event, to print them
// in a stable order once the event is done.
type resultLog struct {
	mu      sync.Mutex
	changed chan struct{}
	byEvent map[string][]synclayer.Result
}

func newResultLog() *resultLog {
	return &resultLog{changed: make(chan struct{}), byEvent: map[string][]synclayer.Result{}}
}

func (l *resultLog) ObserveAttempt(context.Context, synclayer.Attempt) {}

func (l *resultLog) ObserveResult(_ context.Context, ev synclayer.Event, r synclayer.Result) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.byEvent[ev.ID] = append(l.byEvent[ev.ID], r)
	close(l.changed)
	l.changed = make(chan struct{})
}

// wait blocks until n results of event id are in.
func (l *resultLog) wait(ctx context.Context, id string, n int) error {
	for {
		l.mu.Lock()
		got, ch := len(l.byEvent[id]), l.changed
		l.mu.Unlock()
		if got >= n {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("waiting for %d results of %s: %w", n, id, ctx.Err())
		}
	}
}

// take returns the results of event id as text and forgets them.
func (l *resultLog) take(id string) string {
	l.mu.Lock()
	rs := l.byEvent[id]
	delete(l.byEvent, id)
	l.mu.Unlock()
	sort.Slice(rs, func(i, j int) bool { return rs[i].Connector < rs[j].Connector })
	var b bytes.Buffer
	for _, r := range rs {
		fmt.Fprintf(&b, "   %-9s %-7s %-9s attempts=%d", r.Connector, r.Key, r.Status, r.Attempts)
		if r.Err != nil {
			fmt.Fprintf(&b, " error=%v", r.Err)
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// publishAndWait publishes ev through publish (the outbox, or the bus for a
// redelivery) and waits for n results.
func publishAndWait(ctx context.Context, publish func(context.Context, synclayer.Event) error, l *resultLog, ev synclayer.Event, n int) error {
	if err := publish(ctx, ev); err != nil {
		return err
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return l.wait(wctx, ev.ID, n)
}

// printAnnouncement prints the next SyncCompleted or SyncFailed: in full,
// or as one line.
func printAnnouncement(ctx context.Context, out io.Writer, ch <-chan synclayer.Event, full bool) error {
	select {
	case ev := <-ch:
		if !full {
			fmt.Fprintf(out, "   announced %s for %s\n", ev.Type, ev.Subject)
			return nil
		}
		var a synclayer.Announcement
		if err := json.Unmarshal(ev.Data, &a); err != nil {
			return err
		}
		for i := range a.Results {
			a.Results[i].DurationMs = 0 // keep the account stable from run to run
		}
		data, _ := json.Marshal(a)
		fmt.Fprintf(out, "   announced %s (id %s) with data:\n   %s\n", ev.Type, ev.ID, data)
		return nil
	case <-time.After(10 * time.Second):
		return fmt.Errorf("no announcement within 10s")
	case <-ctx.Done():
		return ctx.Err()
	}
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
	dir, err := os.MkdirTemp("", "workflowsync")
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
