package redisstore_test

import (
	"encoding/json"
	"strconv"
	"testing"
	"time"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/idempotency/redisstore"
)

// BenchmarkLogPut measures one Put of a dead letter with its event (one
// script: the entry, four indexes, the trim) into the Redis log, beside
// the same Put into a MemoryLog in the same loop; it reports both times
// per Put.
func BenchmarkLogPut(b *testing.B) {
	l, err := redisstore.NewLog(logClient(b), redisstore.WithLogPrefix(logPrefix(b, "logput")))
	if err != nil {
		b.Fatal(err)
	}
	mem := new(synclayer.MemoryLog)
	ctx := b.Context()
	ev := &synclayer.Event{ID: "evt", Type: "WorkflowDeployed", Subject: "WF-123", Time: time.Now(),
		Data: json.RawMessage(`{"id":"WF-123","title":"Night shift","steps":[1,2,3]}`)}
	var memT, redisT time.Duration
	i := 0
	for b.Loop() {
		now := time.Now()
		d := synclayer.Delivery{EventID: "evt-" + strconv.Itoa(i), EventType: ev.Type, Connector: "records",
			Key: "WF-" + strconv.Itoa(i%1000), State: synclayer.StatusDead, Attempts: 6, FirstAttempt: now,
			LastAttempt: now, Duration: time.Second, Error: "records: 503 Service Unavailable", Updated: now, Event: ev}
		i++
		t0 := time.Now()
		if err := mem.Put(ctx, d); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if err := l.Put(ctx, d); err != nil {
			b.Fatal(err)
		}
		memT += t1.Sub(t0)
		redisT += time.Since(t1)
	}
	b.ReportMetric(float64(memT.Nanoseconds())/float64(i), "memory-put-ns")
	b.ReportMetric(float64(redisT.Nanoseconds())/float64(i), "redis-put-ns")
}

// BenchmarkLogListDead lists the 100 newest dead letters of a log of
// 10,000 synced entries and 200 dead ones: List walks the dead state's
// index only.
func BenchmarkLogListDead(b *testing.B) {
	l, err := redisstore.NewLog(logClient(b), redisstore.WithLogPrefix(logPrefix(b, "loglist")))
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
