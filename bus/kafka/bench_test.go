package kafka_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hmsplatform/synclayer/bus/kafka"
	"github.com/hmsplatform/synclayer/synclayertest"
)

// BenchmarkThroughput publishes then consumes 10,000 small events on an
// in-process kfake cluster (4 partitions), once with the raw franz-go
// client (ProduceSync, a group consumer committing after each poll) and
// once through this bus and a Dispatcher's Run with a no-op connector, and
// reports both rates and their ratio.
func BenchmarkThroughput(b *testing.B) {
	seeds := cluster(b)
	synclayertest.CompareThroughput(b,
		func(name string) time.Duration { return benchRaw(b, seeds, name) },
		func(name string) time.Duration { return benchBus(b, seeds, name) })
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
	synclayertest.PublishAll(b, func(i int) error {
		return p.ProduceSync(ctx, &kgo.Record{Topic: topic, Key: fmt.Append(nil, "raw-", i), Value: body}).FirstErr()
	})
	c, err := kgo.NewClient(kgo.SeedBrokers(seeds...), kgo.ConsumerGroup(topic), kgo.ConsumeTopics(topic),
		kgo.DisableAutoCommit(), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	for got := 0; got < synclayertest.BenchEvents; {
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
	bus, err := kafka.NewBus(seeds, prefix)
	if err != nil {
		b.Fatal(err)
	}
	defer bus.Close(context.Background())
	return synclayertest.BenchRun(b, bus, bus)
}
