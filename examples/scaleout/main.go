// Command scaleout runs two synclayer Dispatchers, as two instances of a
// service would, on one NATS JetStream stream and one PostgreSQL
// idempotency store. It publishes 1,000 WorkflowDeployed events, lets both
// instances share them through the stream's durable consumers, and prints
// how many events each instance handled and how many records the fake
// partner holds: exactly 1,000, each written once.
//
// It needs the real services, found as the tests find them:
//
//	SYNCLAYER_NATS_URL      (default nats://127.0.0.1:4222)
//	SYNCLAYER_POSTGRES_DSN  (default postgres://postgres@127.0.0.1:5432/test?sslmode=disable)
//
//	go run ./examples/scaleout
//
// It creates a stream and a table with unique names and removes them at
// the end.
package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/bus/nats"
	"github.com/hmsplatform/synclayer/idempotency/sqlstore"
	"github.com/hmsplatform/synclayer/synclayertest"
)

// Events is how many events the example publishes.
const Events = 1000

// WorkflowDeployed is the Data of the event.
type WorkflowDeployed struct {
	ID      string `json:"id"`
	Version int64  `json:"version"`
}

// ErrServiceUnavailable marks a missing service.
var ErrServiceUnavailable = errors.New("scaleout: service unavailable")

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := run(ctx, env("SYNCLAYER_NATS_URL", "nats://127.0.0.1:4222"),
		env("SYNCLAYER_POSTGRES_DSN", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"), os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// Outcome is what run observed.
type Outcome struct {
	Handled [2]int64 // connector calls made by each instance
	Records int      // records at the partner
	Writes  int      // writes that reached the partner
}

func run(ctx context.Context, natsURL, pgDSN string, out io.Writer) (Outcome, error) {
	var res Outcome
	nc, err := natsgo.Connect(natsURL, natsgo.Timeout(3*time.Second))
	if err != nil {
		return res, fmt.Errorf("%w: this example needs NATS JetStream at %s (set SYNCLAYER_NATS_URL): %w", ErrServiceUnavailable, natsURL, err)
	}
	defer nc.Close()
	db, err := sql.Open("pgx", pgDSN)
	if err != nil {
		return res, err
	}
	defer db.Close()
	pctx, pcancel := context.WithTimeout(ctx, 3*time.Second)
	err = db.PingContext(pctx)
	pcancel()
	if err != nil {
		return res, fmt.Errorf("%w: this example needs PostgreSQL (set SYNCLAYER_POSTGRES_DSN): %w", ErrServiceUnavailable, err)
	}

	suffix := fmt.Sprintf("%d", time.Now().UnixNano())
	stream, table := "scaleout-"+suffix, "scaleout_"+suffix

	// One store, shared by both instances through PostgreSQL.
	store, err := sqlstore.New(db, sqlstore.Postgres, table)
	if err != nil {
		return res, err
	}
	if err := store.Migrate(ctx); err != nil {
		return res, err
	}
	defer db.ExecContext(context.WithoutCancel(ctx), "DROP TABLE IF EXISTS "+table)

	bus, err := nats.NewBus(ctx, nc, stream, nats.WithGroup("workflow-sync"))
	if err != nil {
		return res, err
	}
	defer func() {
		js, _ := jetstream.New(nc)
		js.DeleteStream(context.WithoutCancel(ctx), stream)
	}()

	// The partner: one fake records database, upserting by key.
	partner := synclayertest.NewFake()
	mapper := synclayer.MapJSON(func(_ context.Context, _ synclayer.Event, w WorkflowDeployed) (synclayer.Record, error) {
		return synclayer.Record{Key: w.ID, Version: w.Version, Payload: w}, nil
	})

	// Two instances: each its own Registry and Dispatcher, as two processes
	// would have, sharing only the bus and the store.
	var handled [2]atomic.Int64
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range 2 {
		reg := new(synclayer.Registry)
		conn := synclayer.ConnectorFunc(func(ctx context.Context, rec synclayer.Record) error {
			handled[i].Add(1)
			return partner.Sync(ctx, rec)
		})
		if err := reg.Register("records", conn, synclayer.Route("WorkflowDeployed", mapper)); err != nil {
			return res, err
		}
		d, err := synclayer.NewDispatcher(reg, synclayer.WithStore(store), synclayer.WithObserver(synclayer.NoObserver))
		if err != nil {
			return res, err
		}
		wg.Go(func() { errs[i] = d.Run(runCtx, bus) })
	}

	for n := range Events {
		ev := synclayer.Event{
			ID:     fmt.Sprintf("evt-%04d", n),
			Type:   "WorkflowDeployed",
			Source: "hms/management-layer",
			Data:   []byte(fmt.Sprintf(`{"id":"WF-%04d","version":1}`, n)),
		}
		if err := bus.Publish(ctx, ev); err != nil {
			return res, err
		}
	}
	fmt.Fprintf(out, "published %d events on stream %s\n", Events, stream)

	for len(partner.Records()) < Events {
		select {
		case <-ctx.Done():
			stop()
			wg.Wait()
			return res, fmt.Errorf("scaleout: only %d of %d records after the time limit: %w", len(partner.Records()), Events, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
	stop()
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return res, err
	}
	res.Handled = [2]int64{handled[0].Load(), handled[1].Load()}
	res.Records = len(partner.Records())
	for _, r := range partner.Records() {
		res.Writes += r.Writes
	}
	fmt.Fprintf(out, "instance 1 handled %d events\n", res.Handled[0])
	fmt.Fprintf(out, "instance 2 handled %d events\n", res.Handled[1])
	fmt.Fprintf(out, "records at the partner: %d (%d writes)\n", res.Records, res.Writes)
	return res, nil
}
