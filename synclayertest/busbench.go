package synclayertest

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hmsplatform/synclayer"
)

// The shape of a bus adapter's throughput benchmark: BenchEvents small
// events published from BenchPublishers goroutines, then consumed.
const (
	BenchEvents     = 10_000
	BenchPublishers = 16
)

// PublishAll calls publish(i) for i in [0, BenchEvents) from
// BenchPublishers goroutines, and fails tb on the first error. Use it for
// the raw client's half of a bus benchmark, so both halves publish alike.
func PublishAll(tb testing.TB, publish func(i int) error) {
	tb.Helper()
	var wg sync.WaitGroup
	var failed atomic.Value
	for p := range BenchPublishers {
		wg.Go(func() {
			for i := p; i < BenchEvents; i += BenchPublishers {
				if err := publish(i); err != nil {
					failed.Store(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err, _ := failed.Load().(error); err != nil {
		tb.Fatal(err)
	}
}

// BenchRun is the library's half of a bus benchmark: it publishes
// BenchEvents events of type "Bench" through pub, consumes them from sub
// with [synclayer.Dispatcher.Run] and a no-op connector, and returns the
// time from the first publish to the last event handled.
func BenchRun(tb testing.TB, pub synclayer.Publisher, sub synclayer.Subscriber) time.Duration {
	tb.Helper()
	ctx := context.Background()
	var handled atomic.Int64
	done := make(chan struct{})
	reg := new(synclayer.Registry)
	noop := synclayer.ConnectorFunc(func(context.Context, synclayer.Record) error {
		if handled.Add(1) == BenchEvents {
			close(done)
		}
		return nil
	})
	mapper := synclayer.MapperFunc(func(_ context.Context, ev synclayer.Event) (synclayer.Record, error) {
		return synclayer.Record{Key: ev.ID}, nil
	})
	if err := reg.Register("noop", noop, synclayer.Route("Bench", mapper)); err != nil {
		tb.Fatal(err)
	}
	d := NewDispatcher(tb, reg, synclayer.WithObserver(synclayer.NoObserver))

	start := time.Now()
	PublishAll(tb, func(i int) error {
		return pub.Publish(ctx, synclayer.Event{ID: fmt.Sprint("bus-", i), Type: "Bench", Data: []byte(`{"n":1}`)})
	})
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	runErr := make(chan error, 1)
	go func() { runErr <- d.Run(runCtx, sub) }()
	select {
	case <-done:
	case err := <-runErr:
		tb.Fatalf("Run returned before every event was handled (%d of %d): %v", handled.Load(), BenchEvents, err)
	}
	elapsed := time.Since(start)
	cancel()
	if err := <-runErr; err != nil {
		tb.Fatal(err)
	}
	return elapsed
}

// CompareThroughput runs, for each round of b.Loop, raw (the broker's own
// client) then bus (the bus adapter under a Dispatcher), each with a name
// unique to the round for what it creates on the broker, and each
// returning how long its BenchEvents events took. It reports both rates
// and their ratio (bus / raw).
func CompareThroughput(b *testing.B, raw, bus func(name string) time.Duration) {
	var rawTime, busTime time.Duration
	for n := 0; b.Loop(); n++ {
		rawTime += raw(fmt.Sprintf("bench-raw-%d-%d", time.Now().UnixNano(), n))
		busTime += bus(fmt.Sprintf("bench-bus-%d-%d", time.Now().UnixNano(), n))
	}
	reportThroughput(b, rawTime, busTime)
}

// reportThroughput reports the raw client's and the bus's rates over b.N
// runs of BenchEvents events each, and their ratio (bus / raw).
func reportThroughput(b *testing.B, raw, bus time.Duration) {
	runs := float64(b.N)
	rawRate := runs * BenchEvents / raw.Seconds()
	busRate := runs * BenchEvents / bus.Seconds()
	b.ReportMetric(rawRate, "raw-events/s")
	b.ReportMetric(busRate, "bus-events/s")
	b.ReportMetric(busRate/rawRate, "ratio")
}
