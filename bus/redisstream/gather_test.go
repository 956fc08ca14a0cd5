package redisstream_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/bus"
	"github.com/hmsplatform/synclayer/bus/redisstream"
	"github.com/hmsplatform/synclayer/internal/testwait"
)

// heldBus returns a bus whose first round trip of Publish calls waits
// until release is called, once the test has seen it start.
func heldBus(t *testing.T, rdb *redis.Client) (b *redisstream.Bus, started <-chan struct{}, release func()) {
	t.Helper()
	b = newBus(t, rdb, uniquePrefix(t, rdb))
	start, hold := make(chan struct{}), make(chan struct{})
	var once sync.Once
	redisstream.HoldPublishes(b, func(int) {
		once.Do(func() {
			close(start)
			<-hold
		})
	})
	var releaseOnce sync.Once
	release = func() { releaseOnce.Do(func() { close(hold) }) }
	t.Cleanup(release)
	return b, start, release
}

// waitQueued waits until n Publish calls wait behind the round trip in
// flight.
func waitQueued(t *testing.T, b *redisstream.Bus, n int) {
	t.Helper()
	testwait.For(t, 10*time.Second,
		func() string { return fmt.Sprintf("%d publishes queued, want %d", redisstream.QueuedPublishes(b), n) },
		func() bool { return redisstream.QueuedPublishes(b) == n })
}

// publishGathered publishes evs[0] alone, held in flight, then the rest
// while it is held, and returns each call's error once all have returned.
func publishGathered(t *testing.T, b *redisstream.Bus, started <-chan struct{}, release func(), evs []synclayer.Event) []error {
	t.Helper()
	errs := make([]error, len(evs))
	var wg sync.WaitGroup
	wg.Go(func() { errs[0] = b.Publish(context.Background(), evs[0]) })
	<-started
	for i := 1; i < len(evs); i++ {
		wg.Go(func() { errs[i] = b.Publish(context.Background(), evs[i]) })
	}
	waitQueued(t, b, len(evs)-1)
	release()
	wg.Wait()
	return errs
}

// wantRounds checks how many round trips the bus's Publish calls made, and
// how many calls they carried.
func wantRounds(t *testing.T, b *redisstream.Bus, rounds, calls uint64, why string) {
	t.Helper()
	if r, c := redisstream.PublishRounds(b); r != rounds || c != calls {
		t.Errorf("%d round trips carried %d calls; want %d carrying %d (%s)", r, c, rounds, calls, why)
	}
}

// streamIDs returns the event IDs stored in the stream, in stream order.
func streamIDs(t *testing.T, rdb *redis.Client, stream string) []string {
	t.Helper()
	msgs, err := rdb.XRange(context.Background(), stream, "-", "+").Result()
	if err != nil {
		t.Fatalf("XRANGE %s: %v", stream, err)
	}
	ids := make([]string, len(msgs))
	for i, m := range msgs {
		var ce struct {
			ID string `json:"id"`
		}
		body, _ := m.Values[redisstream.FieldEvent].(string)
		if err := json.Unmarshal([]byte(body), &ce); err != nil {
			t.Fatalf("entry %s: %v", m.ID, err)
		}
		ids[i] = ce.ID
	}
	return ids
}

func event(id, typ string) synclayer.Event {
	return synclayer.Event{ID: id, Type: typ, Data: json.RawMessage(`{"n":1}`)}
}

func TestPublishesGatherBehindTheRoundTripInFlight(t *testing.T) {
	rdb := client(t, "")
	b, started, release := heldBus(t, rdb)
	evs := make([]synclayer.Event, 11)
	for i := range evs {
		evs[i] = event(fmt.Sprint("evt-", i), "Gathered")
	}
	errs := publishGathered(t, b, started, release, evs)

	for i, err := range errs {
		if err != nil {
			t.Errorf("Publish evt-%d: %v", i, err)
		}
	}
	got := streamIDs(t, rdb, b.Stream("Gathered"))
	slices.Sort(got)
	want := make([]string, 11)
	for i := range want {
		want[i] = fmt.Sprint("evt-", i)
	}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("stream holds %v; want each of %v once", got, want)
	}
	wantRounds(t, b, 2, 11, "the lone first call, then one pipeline of the 10 that gathered")
}

func TestPublishLeftBeforeItsRoundTripIsNeverSent(t *testing.T) {
	rdb := client(t, "")
	b, started, release := heldBus(t, rdb)
	ctx := context.Background()

	done := make(chan error, 1)
	go func() { done <- b.Publish(ctx, event("evt-first", "Left")) }()
	<-started
	cctx, cancel := context.WithCancel(ctx)
	left := make(chan error, 1)
	go func() { left <- b.Publish(cctx, event("evt-left", "Left")) }()
	waitQueued(t, b, 1)
	cancel()
	err := <-left
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), `redisstream: publish "evt-left"`) {
		t.Errorf("Publish after its context ended = %v; want context.Canceled naming the event", err)
	}
	release()
	if err := <-done; err != nil {
		t.Fatalf("first Publish: %v", err)
	}
	// A later call goes out alone: the abandoned one did not ride with it.
	if err := b.Publish(ctx, event("evt-later", "Left")); err != nil {
		t.Fatalf("later Publish: %v", err)
	}
	if got := streamIDs(t, rdb, b.Stream("Left")); !slices.Equal(got, []string{"evt-first", "evt-later"}) {
		t.Errorf("stream holds %v; want [evt-first evt-later] (the abandoned call never sent)", got)
	}
	wantRounds(t, b, 2, 2, "the first call and the later one, each alone")
}

func TestPublishErrorInAPipelineFailsOnlyItsCall(t *testing.T) {
	rdb := client(t, "")
	b, started, release := heldBus(t, rdb)
	ctx := context.Background()
	// A string where the stream of "Broken" should be: its XADD fails.
	if err := rdb.Set(ctx, b.Stream("Broken"), "not a stream", 0).Err(); err != nil {
		t.Fatal(err)
	}

	evs := []synclayer.Event{event("evt-0", "Fine"), event("evt-1", "Fine"), event("evt-2", "Broken"), event("evt-3", "Fine")}
	errs := publishGathered(t, b, started, release, evs)
	wantRounds(t, b, 2, 4, "evt-2 failed inside the pipeline, not alone")

	for i, err := range errs {
		if i == 2 {
			if err == nil || !strings.Contains(err.Error(), `redisstream: publish "evt-2"`) || !strings.Contains(err.Error(), "WRONGTYPE") {
				t.Errorf("Publish evt-2 to a key that is no stream = %v; want the WRONGTYPE reply, naming the event", err)
			}
			continue
		}
		if err != nil {
			t.Errorf("Publish %s: %v; want success (only evt-2's XADD failed)", evs[i].ID, err)
		}
	}
	got := streamIDs(t, rdb, b.Stream("Fine"))
	slices.Sort(got)
	if !slices.Equal(got, []string{"evt-0", "evt-1", "evt-3"}) {
		t.Errorf("stream Fine holds %v; want evt-0, evt-1 and evt-3", got)
	}
	// The next call works.
	if err := b.Publish(ctx, event("evt-4", "Fine")); err != nil {
		t.Errorf("Publish after the failed pipeline: %v", err)
	}
}

func TestPublishBatch(t *testing.T) {
	rdb := client(t, "")
	b := newBus(t, rdb, uniquePrefix(t, rdb))
	ctx := context.Background()
	if err := rdb.Set(ctx, b.Stream("Broken"), "not a stream", 0).Err(); err != nil {
		t.Fatal(err)
	}
	var _ bus.BatchPublisher = b

	if err := b.PublishBatch(ctx, []synclayer.Event{event("a", "Batch"), event("b", "Batch"), event("c", "Batch")}); err != nil {
		t.Fatalf("PublishBatch: %v", err)
	}
	bad := synclayer.Event{ID: "bad-json", Type: "Batch", Data: json.RawMessage(`{`)}
	err := b.PublishBatch(ctx, []synclayer.Event{event("d", "Batch"), bad, event("e", "Broken"), event("f", "Batch")})
	var be *bus.BatchError
	if !errors.As(err, &be) || len(be.Errs) != 4 {
		t.Fatalf("PublishBatch with two bad events = %v; want a *bus.BatchError with 4 entries", err)
	}
	if be.Errs[0] != nil || be.Errs[3] != nil {
		t.Errorf("errors of the good events = %v, %v; want nil", be.Errs[0], be.Errs[3])
	}
	if !synclayer.IsPermanent(be.Errs[1]) || !strings.Contains(be.Errs[1].Error(), `"bad-json"`) {
		t.Errorf("error of the event that cannot be encoded = %v; want a permanent error naming it", be.Errs[1])
	}
	if be.Errs[2] == nil || !strings.Contains(be.Errs[2].Error(), "WRONGTYPE") || synclayer.IsPermanent(be.Errs[2]) {
		t.Errorf("error of the event whose stream is broken = %v; want the WRONGTYPE reply", be.Errs[2])
	}
	if got := streamIDs(t, rdb, b.Stream("Batch")); !slices.Equal(got, []string{"a", "b", "c", "d", "f"}) {
		t.Errorf("stream holds %v; want a, b, c, d, f in order", got)
	}
}

func TestPublishBatchAfterClose(t *testing.T) {
	rdb := client(t, "")
	b := newBus(t, rdb, uniquePrefix(t, rdb))
	if err := b.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	err := b.PublishBatch(context.Background(), []synclayer.Event{event("a", "Batch")})
	var be *bus.BatchError
	if !errors.As(err, &be) || !errors.Is(be.Errs[0], redisstream.ErrClosed) {
		t.Errorf("PublishBatch after Close = %v; want a *bus.BatchError holding ErrClosed", err)
	}
}
