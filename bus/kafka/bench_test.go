package kafka_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/bus/kafka"
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

// BenchmarkThroughput publishes then consumes 10,000 small events on an
// in-process kfake cluster (4 partitions), once with the raw franz-go
// client (ProduceSync, a group consumer committing after each poll) and
// once through this bus and a Dispatcher's Run with a no-op connector, and
// reports both rates and their ratio.
func BenchmarkThroughput(b *testing.B) {
	seeds := cluster(b)
	var rawTime, busTime time.Duration
	for n := 0; b.Loop(); n++ {
		rawTime += benchRaw(b, seeds, fmt.Sprintf("bench-raw-%d", n))
		busTime += benchBus(b, seeds, fmt.Sprintf("bench-bus-%d", n))
	}
	runs := float64(b.N)
	rawRate := runs * benchEvents / rawTime.Seconds()
	busRate := runs * benchEvents / busTime.Seconds()
	b.ReportMetric(rawRate, "raw-events/s")
	b.ReportMetric(busRate, "bus-events/s")
	b.ReportMetric(busRate/rawRate, "ratio")
}

func benchRaw(b *testing.B, seeds []string, topic string) time.Duration {
	ctx := context.Background()
	p, err := kgo.NewClient(kgo.SeedBrokers(seeds...), kgo.AllowAutoTopicCreation())
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	body := []byte(`{"specversion":"1.0","id":"x","type":"Bench","data":{"n":1}}`)
	start := time.Now()
	publishAll(b, func(i int) error {
		return p.ProduceSync(ctx, &kgo.Record{Topic: topic, Key: fmt.Append(nil, "raw-", i), Value: body}).FirstErr()
	})
	c, err := kgo.NewClient(kgo.SeedBrokers(seeds...), kgo.ConsumerGroup(topic), kgo.ConsumeTopics(topic),
		kgo.DisableAutoCommit(), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	for got := 0; got < benchEvents; {
		fs := c.PollRecords(ctx, 64)
		if err := fs.Err(); err != nil {
			b.Fatal(err)
		}
		got += fs.NumRecords()
		if err := c.CommitUncommittedOffsets(ctx); err != nil {
			b.Fatal(err)
		}
	}
	return time.Since(start)
}

func benchBus(b *testing.B, seeds []string, prefix string) time.Duration {
	ctx := context.Background()
	bus, err := kafka.NewBus(seeds, prefix)
	if err != nil {
		b.Fatal(err)
	}
	defer bus.Close()
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
