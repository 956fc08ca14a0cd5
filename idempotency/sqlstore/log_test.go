package sqlstore_test

import (
	"context"
	"database/sql"
	"sync"
	"testing"
	"time"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/idempotency/sqlstore"
	"github.com/hmsplatform/synclayer/synclayertest"
)

// openLog opens a delivery log over table, migrates it, and drops the
// table at the end of the test (once, whoever opened it first).
func openLog(t testing.TB, b backend, table string, dropped *sync.Map, opts ...sqlstore.LogOption) (*sqlstore.Log, *sql.DB) {
	t.Helper()
	db := openDB(t, b, table)
	l, err := sqlstore.NewLog(db, b.dialect, table, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := l.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if _, loaded := dropped.LoadOrStore(table, true); !loaded {
		t.Cleanup(func() { dropTable(t, b, table) })
	}
	return l, db
}

// TestLogConformance runs synclayertest.TestDeliveryLog on every backend.
func TestLogConformance(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			var dropped sync.Map
			synclayertest.TestDeliveryLog(t, func(t *testing.T, ns string) synclayer.DeliveryLog {
				l, _ := openLog(t, b, ns, &dropped)
				return l
			})
		})
	}
}
