package bench_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/bus/redisstream"
	"github.com/hmsplatform/synclayer/internal/testenv"
)

// redisBroker is Redis Streams: the bus's stream of the run, with the
// bus's consumer group for the Dispatcher and a "raw" group for the raw
// client.
var redisBroker = broker{name: "redis", open: openRedisStreams}

// redisClient returns a client of its own (so the bus and a store do not
// share a pool), closed at the end of the benchmark.
func redisClient(tb testing.TB) *redis.Client {
	addr := testenv.Redis.Need(tb)
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	if err := rdb.Ping(context.Background()).Err(); err != nil {
		rdb.Close()
		testenv.Unavailable(tb, "Redis at "+addr, err)
	}
	tb.Cleanup(func() { rdb.Close() })
	return rdb
}

func openRedisStreams(tb testing.TB, run string) *fixture {
	ctx := context.Background()
	busClient, rawClient := redisClient(tb), redisClient(tb)
	bus, err := redisstream.NewBus(busClient, run, redisstream.WithConcurrency(benchHandlers))
	if err != nil {
		tb.Fatal(err)
	}
	stream := bus.Stream(benchType)
	rawAnnounced := "{" + run + "}:raw-announced"
	tb.Cleanup(func() {
		err := rawClient.Del(context.Background(), stream, bus.Stream(synclayer.SyncCompleted), bus.DeadLetterStream(), rawAnnounced).Err()
		if err != nil {
			tb.Errorf("delete streams of %s: %v", run, err)
		}
	})
	// The raw group exists before the events are published, as the bus's
	// group does once Run subscribes: both read the stream from its start.
	if err := rawClient.XGroupCreateMkStream(ctx, stream, "raw", "0").Err(); err != nil {
		tb.Fatal(err)
	}
	return &fixture{
		bus: bus,
		raw: func(tb testing.TB, n int) time.Duration { return rawRedis(tb, rawClient, stream, rawAnnounced, n) },
		settled: func(tb testing.TB, n int) {
			redisSettled(tb, rawClient, stream, "synclayer", bus.Stream(synclayer.SyncCompleted), n)
		},
		rawSettled: func(tb testing.TB, n int) { redisSettled(tb, rawClient, stream, "raw", rawAnnounced, n) },
	}
}

// rawRedis consumes the run's events with go-redis as the package doc
// says, and returns the time it took.
func rawRedis(tb testing.TB, rdb *redis.Client, stream, announced string, n int) time.Duration {
	ctx := context.Background()
	start := time.Now()
	ids := make([]string, 0, benchBatch)
	for got := 0; got < n; {
		res, err := rdb.XReadGroup(ctx, &redis.XReadGroupArgs{
			Group: "raw", Consumer: "raw-1", Streams: []string{stream, ">"}, Count: benchBatch, Block: 5 * time.Second,
		}).Result()
		if err != nil {
			tb.Fatalf("raw XREADGROUP: %v", err)
		}
		pipe := rdb.Pipeline()
		ids = ids[:0]
		for _, m := range res[0].Messages {
			body, _ := m.Values[redisstream.FieldEvent].(string)
			id, key := rawKey(tb, []byte(body))
			_, ann := rawAnnouncement(tb, id, key)
			pipe.XAdd(ctx, &redis.XAddArgs{Stream: announced, MaxLen: 100_000, Approx: true, Values: []any{redisstream.FieldEvent, ann}})
			ids = append(ids, m.ID)
		}
		pipe.XAck(ctx, stream, "raw", ids...)
		if _, err := pipe.Exec(ctx); err != nil {
			tb.Fatalf("raw announce and XACK: %v", err)
		}
		got += len(ids)
	}
	return time.Since(start)
}

// redisSettled waits until the group has no pending entry, and checks
// that the announcement stream holds n entries.
func redisSettled(tb testing.TB, rdb *redis.Client, stream, group, announced string, n int) {
	tb.Helper()
	ctx := context.Background()
	waitFor(tb, "Redis group "+group, func() (bool, string) {
		p, err := rdb.XPending(ctx, stream, group).Result()
		if err != nil {
			return false, err.Error()
		}
		return p.Count == 0, fmt.Sprintf("%d pending", p.Count)
	})
	if got, err := rdb.XLen(ctx, announced).Result(); err != nil || got != int64(n) {
		tb.Fatalf("Redis: %d announcements in %s (%v), want %d", got, announced, err, n)
	}
}
