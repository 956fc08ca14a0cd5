package redisstream_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/bus/internal/bustest"
	"github.com/hmsplatform/synclayer/bus/redisstream"
	"github.com/hmsplatform/synclayer/internal/testenv"
	"github.com/hmsplatform/synclayer/synclayertest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// client opens a client named name, closed at cleanup.
func client(t testing.TB, name string) *redis.Client {
	t.Helper()
	addr := testenv.Redis.Need(t)
	rdb := redis.NewClient(&redis.Options{Addr: addr, ClientName: name})
	if err := rdb.Ping(context.Background()).Err(); err != nil {
		testenv.Unavailable(t, "Redis at "+addr, err)
	}
	t.Cleanup(func() { rdb.Close() })
	return rdb
}

// cleanup deletes every key of the prefix at the end of the test.
func cleanup(t testing.TB, rdb *redis.Client, prefix string) {
	t.Cleanup(func() {
		ctx := context.Background()
		keys, err := rdb.Keys(ctx, "{"+prefix+"}:*").Result()
		if err == nil && len(keys) > 0 {
			err = rdb.Del(ctx, keys...).Err()
		}
		if err != nil {
			t.Errorf("delete keys of %s: %v", prefix, err)
		}
	})
}

// uniquePrefix returns a prefix of the test's own, whose keys are deleted
// at the end of the test.
func uniquePrefix(t testing.TB, rdb *redis.Client) string {
	prefix := bustest.UniqueName(t, "redis")
	cleanup(t, rdb, prefix)
	return prefix
}

// newBus makes a bus on rdb with the prefix, failing the test if it
// cannot.
func newBus(t testing.TB, rdb *redis.Client, prefix string, opts ...redisstream.Option) *redisstream.Bus {
	t.Helper()
	b, err := redisstream.NewBus(rdb, prefix, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestBus(t *testing.T) {
	synclayertest.TestBus(t, func(t *testing.T, cfg synclayertest.BusConfig) synclayertest.BusFixture {
		rdb := client(t, cfg.Name)
		admin := client(t, cfg.Name+"-admin")
		cleanup(t, admin, cfg.Name)
		b := newBus(t, rdb, cfg.Name,
			redisstream.WithMaxDeliveries(cfg.MaxDeliveries),
			redisstream.WithRedeliveryDelay(cfg.RedeliveryDelay),
			redisstream.WithClaimIdle(5*time.Second))
		// Cutting the connection kills the bus's own connections (found by
		// client name) from another connection, as a Redis restart would
		// drop them.
		read := func(ctx context.Context) ([]redisstream.DeadLetter, error) { return b.DeadLetters(ctx, 0) }
		return bustest.Fixture(b, read, letter, func(ctx context.Context) error { return killClients(ctx, admin, cfg.Name) })
	})
}

func killClients(ctx context.Context, admin *redis.Client, name string) error {
	list, err := admin.ClientList(ctx).Result()
	if err != nil {
		return err
	}
	killed := 0
	for _, line := range strings.Split(list, "\n") {
		var id, n string
		for _, f := range strings.Fields(line) {
			if v, ok := strings.CutPrefix(f, "id="); ok {
				id = v
			}
			if v, ok := strings.CutPrefix(f, "name="); ok {
				n = v
			}
		}
		if n == name && id != "" {
			if err := admin.Do(ctx, "CLIENT", "KILL", "ID", id).Err(); err != nil {
				return err
			}
			killed++
		}
	}
	if killed == 0 {
		return fmt.Errorf("no connection named %s", name)
	}
	return nil
}

// letter says what a dead letter holds, for bustest.Fixture.
func letter(dl redisstream.DeadLetter) (synclayer.Event, string, int) {
	return dl.Event, dl.Reason, dl.Deliveries
}

// Entries that are not valid events are dead-lettered at once with the
// reason, and do not hold up the valid events behind them. Binary-mode
// entries (ce- fields) are accepted.
func TestInvalidAndBinaryEntries(t *testing.T) {
	rdb := client(t, "")
	b := newBus(t, rdb, uniquePrefix(t, rdb))
	ctx := synclayertest.Within(t, 30*time.Second)
	add := func(vals ...any) {
		t.Helper()
		if err := rdb.XAdd(ctx, &redis.XAddArgs{Stream: b.Stream("Order"), Values: vals}).Err(); err != nil {
			t.Fatal(err)
		}
	}
	add("event", `{"specversion":"1.0","type":"Order"`)  // bad JSON
	add("other", "x")                                    // no event field
	add("event", `{"specversion":"1.0","type":"Order"}`) // no id
	hdr, body := bustest.Binary(t)
	var vals []any
	for k, v := range hdr {
		vals = append(vals, k, v)
	}
	add(append(vals, "data", string(body))...)
	if err := b.Publish(ctx, synclayer.Event{ID: "ok-1", Type: "Order"}); err != nil {
		t.Fatal(err)
	}

	bustest.SameIDs(t, bustest.ReceiveAll(ctx, t, b, 2), "bin-1", "ok-1")
	dls, err := b.DeadLetters(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	dls = bustest.Reasons(t, dls, func(dl redisstream.DeadLetter) string { return dl.Reason }, "body is not a JSON object", "entry has no \"event\" field", "no id")
	for i, dl := range dls {
		if dl.Deliveries != 1 || dl.Stream != b.Stream("Order") || dl.EntryID == "" {
			t.Errorf("dead letter %d = %+v", i, dl)
		}
	}
	// Nothing is left pending in the group.
	p, err := rdb.XPending(ctx, b.Stream("Order"), "synclayer").Result()
	if err != nil || p.Count != 0 {
		t.Errorf("pending = %+v, %v; want none", p, err)
	}
}

// An entry read by a consumer that then died (it never acknowledges) is
// reclaimed by a live subscriber once idle for the claim idle time, with
// its delivery count taken from the pending entries list.
func TestDeadConsumerReclaimed(t *testing.T) {
	rdb := client(t, "")
	b := newBus(t, rdb, uniquePrefix(t, rdb), redisstream.WithClaimIdle(300*time.Millisecond), redisstream.WithMaxDeliveries(3))
	ctx := synclayertest.Within(t, 30*time.Second)
	st := b.Stream("Order")
	if err := rdb.XGroupCreateMkStream(ctx, st, "synclayer", "0").Err(); err != nil {
		t.Fatal(err)
	}
	if err := b.Publish(ctx, synclayer.Event{ID: "orphan", Type: "Order"}); err != nil {
		t.Fatal(err)
	}
	// The dead consumer reads the entry and vanishes.
	res, err := rdb.XReadGroup(ctx, &redis.XReadGroupArgs{Group: "synclayer", Consumer: "dead", Streams: []string{st, ">"}, Count: 1}).Result()
	if err != nil || len(res) != 1 || len(res[0].Messages) != 1 {
		t.Fatalf("dead consumer read %v, %v", res, err)
	}
	got := make(chan synclayer.Event, 1)
	bustest.Subscribe(t, b, []string{"Order"}, func(_ context.Context, ev synclayer.Event) error {
		got <- ev
		return nil
	})
	if ev := bustest.Wait(ctx, t, got, "the dead consumer's entry was never reclaimed"); ev.ID != "orphan" {
		t.Errorf("got %q, want the orphan", ev.ID)
	}
	bustest.Eventually(ctx, t, func() bool { return pending(ctx, t, rdb, st) == 0 }, "the reclaimed entry was never acknowledged")
}

func TestNewBusValidates(t *testing.T) {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	defer rdb.Close()
	for _, p := range []string{"", "a{b", "}"} {
		if _, err := redisstream.NewBus(rdb, p); err == nil {
			t.Errorf("NewBus(%q) succeeded", p)
		}
	}
	if _, err := redisstream.NewBus(nil, "x"); !errors.Is(err, synclayer.ErrInvalidOption) {
		t.Errorf("NewBus(nil): %v; want an error wrapping ErrInvalidOption", err)
	}
}

// A handler that runs longer than the claim idle time keeps its entry: the
// subscriber keeps it fresh, so the other subscriber does not reclaim it
// and the event is handled once.
func TestLongHandlerNotReclaimed(t *testing.T) {
	rdb := client(t, "")
	b := newBus(t, rdb, uniquePrefix(t, rdb), redisstream.WithClaimIdle(300*time.Millisecond))
	// Five times the claim idle time; settled once nothing is pending.
	bustest.LongHandlerKept(t, b, 1500*time.Millisecond, func(ctx context.Context) bool {
		return pending(ctx, t, rdb, b.Stream("Order")) == 0
	})
}

// pending returns how many entries of stream the group "synclayer" has
// read and not acknowledged.
func pending(ctx context.Context, t testing.TB, rdb *redis.Client, stream string) int64 {
	t.Helper()
	p, err := rdb.XPending(ctx, stream, "synclayer").Result()
	if err != nil {
		t.Fatal(err)
	}
	return p.Count
}

// TestExampleFlow checks the steps of Example, whose handler fails for
// good: the event is then in the dead-letter stream, after one delivery.
func TestExampleFlow(t *testing.T) {
	rdb := client(t, "example-flow")
	bus := newBus(t, rdb, uniquePrefix(t, rdb), redisstream.WithGroup("calendar-sync"), redisstream.WithMaxLen(10_000))
	ev := synclayer.Event{ID: "evt-1", Type: "WorkflowDeployed", Data: json.RawMessage(`{"id":"WF-123"}`)}
	got := bustest.ExampleFlow(t, bus, func(ctx context.Context) error { return bus.Publish(ctx, ev) }, func(_ int, stop func()) error {
		stop()
		return synclayer.Permanent(errors.New("workflow has no owner"))
	})
	bustest.SameEvents(t, got, ev)
	dead, err := bus.DeadLetters(synclayertest.Within(t, 10*time.Second), 10)
	if err != nil {
		t.Fatalf("DeadLetters: %v", err)
	}
	if len(dead) != 1 || dead[0].Event.ID != ev.ID || dead[0].Deliveries != 1 || dead[0].Reason != "workflow has no owner" {
		t.Errorf("dead letters %+v, want evt-1 after 1 delivery: workflow has no owner", dead)
	}
}

// Every option follows the option rule: a bad value is an error naming it.
func TestInvalidOptions(t *testing.T) {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	defer rdb.Close()
	bustest.InvalidOptions(t, func(o redisstream.Option) error {
		_, err := redisstream.NewBus(rdb, "x", o)
		return err
	}, bustest.SharedOptions(redisstream.WithMaxDeliveries, redisstream.WithRedeliveryDelay, redisstream.WithConcurrency), map[string]redisstream.Option{
		"WithClaimIdle(-1s)": redisstream.WithClaimIdle(-time.Second),
		"WithMaxLen(-1)":     redisstream.WithMaxLen(-1),
	})
}

// A handler cut short by its subscriber stopping, on the event's last
// allowed delivery, gets the event handed back instead of dead-lettered.
func TestInterruptedHandlerHandsBack(t *testing.T) {
	rdb := client(t, "interrupted")
	b := newBus(t, rdb, uniquePrefix(t, rdb), redisstream.WithMaxDeliveries(1))
	read := func(ctx context.Context) ([]redisstream.DeadLetter, error) { return b.DeadLetters(ctx, 0) }
	bustest.InterruptedHandedBack(t, bustest.Fixture(b, read, letter, nil))
}

// A handler cut short by Close giving up waiting, on the event's last
// allowed delivery, gets the event handed back to the group instead of
// dead-lettered.
func TestCloseInterruptedHandlerHandsBack(t *testing.T) {
	rdb := client(t, "closing")
	prefix := uniquePrefix(t, rdb)
	next := newBus(t, client(t, "next"), prefix, redisstream.WithMaxDeliveries(1))
	closing := newBus(t, rdb, prefix, redisstream.WithMaxDeliveries(1))
	read := func(ctx context.Context) ([]redisstream.DeadLetter, error) { return next.DeadLetters(ctx, 0) }
	bustest.CloseInterruptedHandedBack(t, closing, bustest.Fixture(next, read, letter, nil))
}
