package redisstream_test

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hmsplatform/synclayer/bus/redisstream"
	"github.com/hmsplatform/synclayer/synclayertest"
)

// BenchmarkThroughput publishes then consumes 10,000 small events, once
// with the raw go-redis client (XADD from 16 goroutines, XREADGROUP of 16,
// one XACK per batch) and once through
// this bus and a Dispatcher's Run with a no-op connector, and reports both
// rates and their ratio.
func BenchmarkThroughput(b *testing.B) {
	rdb := client(b, "")
	synclayertest.CompareThroughput(b,
		func(name string) time.Duration { return benchRaw(b, rdb, name) },
		func(name string) time.Duration { return benchBus(b, rdb, name) })
}

func benchRaw(b *testing.B, rdb *redis.Client, key string) time.Duration {
	ctx := context.Background()
	defer rdb.Del(ctx, key)
	body := `{"specversion":"1.0","id":"x","type":"Bench","data":{"n":1}}`
	start := time.Now()
	synclayertest.PublishAll(b, func(i int) error {
		return rdb.XAdd(ctx, &redis.XAddArgs{Stream: key, MaxLen: 100_000, Approx: true, Values: []any{"event", body}}).Err()
	})
	if err := rdb.XGroupCreate(ctx, key, "raw", "0").Err(); err != nil {
		b.Fatal(err)
	}
	for got := 0; got < synclayertest.BenchEvents; {
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
	return synclayertest.BenchRun(b, bus, bus)
}
