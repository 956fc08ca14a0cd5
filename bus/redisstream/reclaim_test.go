package redisstream_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/bus/internal/bustest"
	"github.com/hmsplatform/synclayer/bus/redisstream"
	"github.com/hmsplatform/synclayer/synclayertest"
)

// A retry is redelivered once its delay has passed even when far more
// deferred entries than one look scans sit before it in the retry
// consumer's pending list, and stay there (a paused connector, say).
//
// With two handler slots, 100 events deferred for a minute park ahead of
// "fast", whose first delivery fails; its retry delay is 100ms, and the
// claim idle time of a minute does not reclaim it either: only the look
// for due retries redelivers it.
func TestRetryNotHeldUpByDeferredEntries(t *testing.T) {
	rdb := client(t, "")
	b := newBus(t, rdb, uniquePrefix(t, rdb), redisstream.WithConcurrency(2),
		redisstream.WithRedeliveryDelay(100*time.Millisecond), redisstream.WithClaimIdle(time.Minute))
	ctx := synclayertest.Within(t, 30*time.Second)
	st := b.Stream("Order")
	if err := rdb.XGroupCreateMkStream(ctx, st, "synclayer", "0").Err(); err != nil {
		t.Fatal(err)
	}
	const held = 100
	for i := range held {
		if err := b.Publish(ctx, synclayer.Event{ID: fmt.Sprintf("held-%03d", i), Type: "Order"}); err != nil {
			t.Fatal(err)
		}
	}
	var fastCalls atomic.Int32
	redelivered := make(chan struct{})
	bustest.Subscribe(t, b, []string{"Order"}, func(_ context.Context, ev synclayer.Event) error {
		if strings.HasPrefix(ev.ID, "held-") {
			return synclayer.Redeliver(errors.New("not yet"), time.Minute)
		}
		switch fastCalls.Add(1) {
		case 1:
			return errors.New("transient")
		case 2:
			close(redelivered)
		}
		return nil
	})
	bustest.Eventually(ctx, t, func() bool { return parked(ctx, t, rdb, st) == held }, "the held events were never all deferred")
	if err := b.Publish(ctx, synclayer.Event{ID: "fast", Type: "Order"}); err != nil {
		t.Fatal(err)
	}
	bustest.Wait(ctx, t, redelivered, "the retry of fast was never redelivered behind the deferred events")
	bustest.Eventually(ctx, t, func() bool { return parked(ctx, t, rdb, st) == held && pending(ctx, t, rdb, st) == held }, "fast was not acknowledged after its retry")
}

// parked returns how many entries of stream the retry consumer of the
// group "synclayer" holds.
func parked(ctx context.Context, t testing.TB, rdb *redis.Client, stream string) int64 {
	t.Helper()
	p, err := rdb.XPending(ctx, stream, "synclayer").Result()
	if err != nil {
		t.Fatal(err)
	}
	return p.Consumers["synclayer-retry"]
}

// The entries of a dead consumer are reclaimed even when more entries of
// live consumers, kept fresh, come before them in the pending list than
// one XAUTOCLAIM call looks at.
//
// A busy subscriber holds 100 entries in running handlers; a consumer then
// reads "orphan" and dies. A subscriber with two free slots (one
// XAUTOCLAIM call looks at 20 entries) must find it.
func TestDeadConsumerReclaimedBehindBusyEntries(t *testing.T) {
	rdb := client(t, "")
	prefix := uniquePrefix(t, rdb)
	const busy = 100
	const claimIdle = 2 * time.Second
	busyBus := newBus(t, rdb, prefix, redisstream.WithConcurrency(busy), redisstream.WithClaimIdle(claimIdle))
	b := newBus(t, rdb, prefix, redisstream.WithConcurrency(2), redisstream.WithClaimIdle(claimIdle))
	ctx := synclayertest.Within(t, 30*time.Second)
	st := b.Stream("Order")
	if err := rdb.XGroupCreateMkStream(ctx, st, "synclayer", "0").Err(); err != nil {
		t.Fatal(err)
	}
	for i := range busy {
		if err := b.Publish(ctx, synclayer.Event{ID: fmt.Sprintf("busy-%03d", i), Type: "Order"}); err != nil {
			t.Fatal(err)
		}
	}
	var running atomic.Int32
	bustest.Subscribe(t, busyBus, []string{"Order"}, func(ctx context.Context, ev synclayer.Event) error {
		running.Add(1)
		<-ctx.Done() // busy until the test ends
		return nil
	})
	bustest.Eventually(ctx, t, func() bool { return running.Load() == busy }, "the busy subscriber never ran all its handlers")

	if err := b.Publish(ctx, synclayer.Event{ID: "orphan", Type: "Order"}); err != nil {
		t.Fatal(err)
	}
	// The dead consumer reads the entry and vanishes.
	res, err := rdb.XReadGroup(ctx, &redis.XReadGroupArgs{Group: "synclayer", Consumer: "dead", Streams: []string{st, ">"}, Count: 1}).Result()
	if err != nil || len(res) != 1 || len(res[0].Messages) != 1 {
		t.Fatalf("dead consumer read %v, %v", res, err)
	}
	got := make(chan synclayer.Event, busy+1)
	bustest.Subscribe(t, b, []string{"Order"}, func(_ context.Context, ev synclayer.Event) error {
		got <- ev
		return nil
	})
	if ev := bustest.Wait(ctx, t, got, "the dead consumer's entry behind the busy ones was never reclaimed"); ev.ID != "orphan" {
		t.Errorf("got %q, want the orphan (the busy subscriber's entries are kept fresh)", ev.ID)
	}
}
