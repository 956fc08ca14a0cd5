package sqlstore_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/idempotency/internal/storetest"
	"github.com/hmsplatform/synclayer/idempotency/sqlstore"
	"github.com/hmsplatform/synclayer/synclayertest"
)

// dispatchAll sends n events through d from conc goroutines and returns
// the time taken.
func dispatchAll(b *testing.B, d *synclayer.Dispatcher, prefix string, n, conc int) time.Duration {
	ctx := context.Background()
	return spread(b, n, conc, func(i int64) error {
		ev := synclayer.Event{ID: fmt.Sprintf("%s-%d", prefix, i), Type: "WorkflowDeployed",
			Subject: fmt.Sprintf("%s-WF-%d", prefix, i), Data: json.RawMessage(`{"title":"Night shift"}`)}
		_, err := d.Dispatch(ctx, ev)
		return err
	})
}

// BenchmarkDispatchStore measures events per second through a Dispatcher
// with a no-op connector and announcements on, from 16 and 128 concurrent
// dispatches, with the memory store (the baseline), the SQL store, and the
// SQL store with group commit off, alternating in the same run. The pool
// is sized for the batches (MaxIdleConns = MaxOpenConns = 32, which also
// caps the unbatched store's connections, as a shared database would).
// It reports each rate and the SQL stores' rates as fractions of the
// memory store's. On PostgreSQL it also runs the batching store on a pool
// whose sessions commit asynchronously (synchronous_commit=off), to show
// how much of the time is the commit's disk flush.
func BenchmarkDispatchStore(b *testing.B) {
	for _, be := range backends {
		for _, conc := range []int{16, 128} {
			b.Run(fmt.Sprintf("%s/conc=%d", be.name, conc), func(b *testing.B) {
				table := uniqueTable("sqlbdisp")
				var dropped sync.Map
				_, db := openStore(b, be, table, &dropped)
				benchPool(db)
				batched, single := storePair(b, db, be.dialect, table)
				newDispatcher := func(s synclayer.Store) *synclayer.Dispatcher {
					return synclayertest.NewDispatcher(b, storetest.Records(b, storetest.Accept), synclayer.WithStore(s), synclayer.WithPublisher(storetest.Discard{}),
						synclayer.WithObserver(synclayer.NoObserver), synclayer.WithDeliveryLog(new(synclayer.MemoryLog)))
				}
				mem, bat, sgl := newDispatcher(new(synclayer.MemoryStore)), newDispatcher(batched), newDispatcher(single)
				dispatchAll(b, bat, "warm-b", 2*conc, conc)
				dispatchAll(b, sgl, "warm-s", 2*conc, conc)
				const rounds = 4
				var mt, bt, st time.Duration
				n := max(b.N/rounds, 1)
				b.ResetTimer()
				for r := range rounds {
					p := fmt.Sprintf("r%d-%d", r, b.N)
					mt += dispatchAll(b, mem, "m"+p, n, conc)
					bt += dispatchAll(b, bat, "b"+p, n, conc)
					st += dispatchAll(b, sgl, "s"+p, n, conc)
				}
				b.StopTimer()
				total := float64(n * rounds)
				b.ReportMetric(total/mt.Seconds(), "memory-ev/s")
				b.ReportMetric(total/bt.Seconds(), "batched-ev/s")
				b.ReportMetric(total/st.Seconds(), "single-ev/s")
				b.ReportMetric(float64(mt)/float64(bt), "batched-of-memory")
				b.ReportMetric(float64(mt)/float64(st), "single-of-memory")
				if be.name != "postgres" {
					return
				}
				// pgx sends DSN parameters it does not know as session settings.
				adb, err := sql.Open(be.driver, be.dsn(b, table)+"&synchronous_commit=off")
				if err != nil {
					b.Fatal(err)
				}
				defer adb.Close()
				benchPool(adb)
				async, err := sqlstore.New(adb, be.dialect, table)
				if err != nil {
					b.Fatal(err)
				}
				defer async.Close()
				ad := newDispatcher(async)
				var at time.Duration
				for r := range rounds {
					at += dispatchAll(b, ad, fmt.Sprintf("a%d-%d", r, b.N), n, conc)
				}
				b.ReportMetric(total/at.Seconds(), "async-commit-ev/s")
			})
		}
	}
}
