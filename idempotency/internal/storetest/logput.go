package storetest

import (
	"encoding/json"
	"strconv"
	"testing"
	"time"

	"github.com/hmsplatform/synclayer"
)

// BenchLogPut measures Put of a realistic entry (a dead letter with its
// event) into l beside the same Put into a MemoryLog, interleaved in the
// same loop. It reports both times per Put ("memory-put-ns" and name
// followed by "-put-ns") and l's rate as a fraction of the memory log's
// ("of-memory-rate").
func BenchLogPut(b *testing.B, l synclayer.DeliveryLog, name string) {
	mem := new(synclayer.MemoryLog)
	ctx := b.Context()
	ev := &synclayer.Event{ID: "evt", Type: "WorkflowDeployed", Source: "hms/management-layer", Subject: "WF-123",
		Time: time.Now(), Data: json.RawMessage(`{"id":"WF-123","title":"Night shift","steps":[1,2,3]}`),
		Meta: map[string]string{"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}}
	var memT, logT time.Duration
	i := 0
	for b.Loop() {
		now := time.Now()
		d := synclayer.Delivery{EventID: "evt-" + strconv.Itoa(i), EventType: ev.Type, Connector: "records",
			Key: "WF-" + strconv.Itoa(i%1000), State: synclayer.StatusDead, Attempts: 6, FirstAttempt: now,
			LastAttempt: now, Duration: time.Second, Error: "records: 503 Service Unavailable",
			PayloadHash: BenchHash, Updated: now, Event: ev}
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
		logT += time.Since(t1)
	}
	ReportVs(b, i, "memory-put-ns", memT, name+"-put-ns", logT, "of-memory-rate")
}
