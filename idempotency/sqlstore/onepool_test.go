package sqlstore_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/idempotency/sqlstore"
	"github.com/hmsplatform/synclayer/synclayertest"
)

// A pool of one connection, SQLite's usual one, serves every kind of batch
// and the delivery log written with Complete: no statement waits for a
// second connection while a transaction holds the only one. It deadlocked
// before inTx prepared its statements first.
func TestOneConnectionPool(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			table := uniqueTable("one")
			db := openDB(t, b, table)
			db.SetMaxOpenConns(1)
			store, err := sqlstore.New(db, b.dialect, table)
			if err != nil {
				t.Fatal(err)
			}
			var dropped sync.Map
			migrated(t, b, table, &dropped, store)
			log, err := sqlstore.NewLog(db, b.dialect, table+"_log")
			if err != nil {
				t.Fatal(err)
			}
			migrated(t, b, table+"_log", &dropped, log)

			fake := synclayertest.NewFake()
			reg := new(synclayer.Registry)
			if err := reg.Register("p", fake, synclayer.Route("E", synclayer.MapperFunc(func(_ context.Context, ev synclayer.Event) (synclayer.Record, error) {
				return synclayer.Record{Key: ev.Subject, Payload: ev.ID}, nil
			}))); err != nil {
				t.Fatal(err)
			}
			d := synclayertest.NewDispatcher(t, reg, synclayer.WithStore(store), synclayer.WithDeliveryLog(log),
				synclayer.WithObserver(synclayer.NoObserver), synclayer.WithPublisher(&discard{}))
			ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
			defer cancel()
			var wg sync.WaitGroup
			for i := range 40 {
				wg.Go(func() {
					ev := synclayer.Event{ID: fmt.Sprint("e", i), Type: "E", Subject: fmt.Sprint("k", i%8)}
					if _, err := d.Dispatch(ctx, ev); err != nil {
						t.Errorf("dispatch %s: %v", ev.ID, err)
					}
				})
			}
			wg.Wait()
			if n := fake.CallCount(); n != 40 {
				t.Fatalf("%d pushes, want 40", n)
			}
			got, err := d.Deliveries(ctx, synclayer.DeliveryFilter{Limit: 100})
			if err != nil || len(got) != 40 {
				t.Fatalf("%d deliveries logged, %v; want 40", len(got), err)
			}
		})
	}
}

// discard is a Publisher that keeps nothing, so announcements claim and
// complete through the store too.
type discard struct{}

func (discard) Publish(context.Context, synclayer.Event) error { return nil }
