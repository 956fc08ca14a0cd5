package redisstore_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/idempotency/internal/storetest"
	"github.com/hmsplatform/synclayer/idempotency/redisstore"
)

// BenchmarkLogPut measures one Put of a dead letter with its event (one
// script: the entry, four indexes, the trim) into the Redis log, beside
// the same Put into a MemoryLog (see storetest.BenchLogPut).
func BenchmarkLogPut(b *testing.B) {
	l, err := redisstore.NewLog(newClient(b), redisstore.WithLogPrefix(logPrefix(b, "logput")))
	if err != nil {
		b.Fatal(err)
	}
	storetest.BenchLogPut(b, l, "redis")
}

// BenchmarkLogListDead lists the 100 newest dead letters of a log of
// 10,000 synced entries and 200 dead ones: List walks the dead state's
// index only.
func BenchmarkLogListDead(b *testing.B) {
	l, err := redisstore.NewLog(newClient(b), redisstore.WithLogPrefix(logPrefix(b, "loglist")))
	if err != nil {
		b.Fatal(err)
	}
	ctx := b.Context()
	now := time.Now()
	for i := range 10_200 {
		d := synclayer.Delivery{EventID: "evt-" + strconv.Itoa(i), Connector: "records", State: synclayer.StatusSynced,
			Updated: now.Add(time.Duration(i) * time.Microsecond)}
		if i%51 == 0 {
			d.State = synclayer.StatusDead
		}
		if err := l.Put(ctx, d); err != nil {
			b.Fatal(err)
		}
	}
	f := synclayer.DeliveryFilter{States: []synclayer.Status{synclayer.StatusDead}}
	for b.Loop() {
		got, err := l.List(ctx, f)
		if err != nil || len(got) != 100 {
			b.Fatalf("List = %d, %v; want 100", len(got), err)
		}
	}
}
