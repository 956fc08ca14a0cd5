package redisstream_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/bus/redisstream"
)

const (
	benchEvents     = 10_000
	benchPublishers = 16
)

func publishAll(b *testing.B, publish func(i int) error) {
	var wg sync.WaitGroup
	var failed atomic.Value
	for p := range benchPublishers {
		wg.Go(func() {
			for i := p; i < benchEvents; i += benchPublishers {
				if err := publish(i); err != nil {
					failed.Store(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err, _ := failed.Load().(error); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkThroughput publishes then consumes 10,000 small events, once
// with the raw go-redis client (XADD from 16 goroutines, XREADGROUP of 16,
// one XACK per batch) and once through
// this bus and a Dispatcher's Run with a no-op connector, and reports both
// rates and their ratio.
func BenchmarkThroughput(b *testing.B) {
	rdb := client(b, "")
	var rawTime, busTime time.Duration
	for n := 0; b.Loop(); n++ {
		rawTime += benchRaw(b, rdb, fmt.Sprintf("bench-raw-%d-%d", time.Now().UnixNano(), n))
		busTime += benchBus(b, rdb, fmt.Sprintf("bench-bus-%d-%d", time.Now().UnixNano(), n))
	}
	runs := float64(b.N)
	rawRate := runs * benchEvents / rawTime.Seconds()
	busRate := runs * benchEvents / busTime.Seconds()
	b.ReportMetric(rawRate, "raw-events/s")
	b.ReportMetric(busRate, "bus-events/s")
	b.ReportMetric(busRate/rawRate, "ratio")
}

func benchRaw(b *testing.B, rdb *redis.Client, key string) time.Duration {
	ctx := context.Background()
	defer rdb.Del(ctx, key)
	body := `{"specversion":"1.0","id":"x","type":"Bench","data":{"n":1}}`
	start := time.Now()
	publishAll(b, func(i int) error {
		return rdb.XAdd(ctx, &redis.XAddArgs{Stream: key, MaxLen: 100_000, Approx: true, Values: []any{"event", body}}).Err()
	})
	if err := rdb.XGroupCreate(ctx, key, "raw", "0").Err(); err != nil {
		b.Fatal(err)
	}
	for got := 0; got < benchEvents; {
		res, err := rdb.XReadGroup(ctx, &redis.XReadGroupArgs{Group: "raw", Consumer: "c", Streams: []string{key, ">"}, Count: 16, Block: time.Second}).Result()
		if err != nil {
			b.Fatal(err)
		}
		// Acknowledge the whole batch in one XACK: the fastest a raw
		// client can go.
		ids := make([]string, 0, len(res[0].Messages))
		for _, m := range res[0].Messages {
			ids = append(ids, m.ID)
		}
		if err := rdb.XAck(ctx, key, "raw", ids...).Err(); err != nil {
			b.Fatal(err)
		}
		got += len(ids)
	}
	return time.Since(start)
}

func benchBus(b *testing.B, rdb *redis.Client, prefix string) time.Duration {
	ctx := context.Background()
	bus, err := redisstream.NewBus(rdb, prefix)
	if err != nil {
		b.Fatal(err)
	}
	defer rdb.Del(ctx, bus.Stream("Bench"))
	var handled atomic.Int64
	done := make(chan struct{})
	reg := synclayer.NewRegistry()
	noop := synclayer.ConnectorFunc(func(context.Context, synclayer.Record) error {
		if handled.Add(1) == benchEvents {
			close(done)
		}
		return nil
	})
	mapper := synclayer.MapperFunc(func(_ context.Context, ev synclayer.Event) (synclayer.Record, error) {
		return synclayer.Record{Key: ev.ID}, nil
	})
	if err := reg.Register("noop", noop, synclayer.Route("Bench", mapper)); err != nil {
		b.Fatal(err)
	}
	d := synclayer.NewDispatcher(reg, synclayer.WithObserver(nil))

	start := time.Now()
	publishAll(b, func(i int) error {
		return bus.Publish(ctx, synclayer.Event{ID: fmt.Sprint("bus-", i), Type: "Bench", Data: []byte(`{"n":1}`)})
	})
	runCtx, cancel := context.WithCancel(ctx)
	runErr := make(chan error, 1)
	go func() { runErr <- d.Run(runCtx, bus) }()
	select {
	case <-done:
	case err := <-runErr:
		b.Fatalf("Run returned before every event was handled (%d of %d): %v", handled.Load(), benchEvents, err)
	}
	elapsed := time.Since(start)
	cancel()
	if err := <-runErr; err != nil {
		b.Fatal(err)
	}
	return elapsed
}
