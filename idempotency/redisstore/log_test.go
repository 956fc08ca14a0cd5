package redisstore_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/idempotency/internal/storetest"
	"github.com/hmsplatform/synclayer/idempotency/redisstore"
	"github.com/hmsplatform/synclayer/internal/testenv"
	"github.com/hmsplatform/synclayer/synclayertest"
)

// logPrefix is a log key prefix no other test or run uses; its keys are
// deleted at the end of the test.
func logPrefix(t testing.TB, ns string) string {
	p := "synclayertest:log:" + ns + ":" + strconv.FormatInt(time.Now().UnixNano(), 36) + ":"
	removePrefix(t, p)
	return p
}

func openLog(t *testing.T, c redis.UniversalClient, prefix string, opts ...redisstore.LogOption) *redisstore.Log {
	t.Helper()
	l, err := redisstore.NewLog(c, append([]redisstore.LogOption{redisstore.WithLogPrefix(prefix)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestLogConformance(t *testing.T) {
	testenv.Redis.Need(t)
	prefixes := map[string]string{}
	var mu sync.Mutex
	synclayertest.TestDeliveryLog(t, func(t *testing.T, ns string) synclayer.DeliveryLog {
		mu.Lock()
		p, ok := prefixes[ns]
		if !ok {
			p = logPrefix(t, ns)
			prefixes[ns] = p
		}
		mu.Unlock()
		return openLog(t, newClient(t), p)
	})
}

func TestNewLogRefusesBadConfig(t *testing.T) {
	c := redis.NewClient(&redis.Options{Addr: testenv.Redis.Addr()})
	defer c.Close()
	if _, err := redisstore.NewLog(nil); !errors.Is(err, redisstore.ErrConfig) {
		t.Errorf("NewLog(nil) = %v, want ErrConfig", err)
	}
	for _, c2 := range []struct {
		opt  redisstore.LogOption
		name string
	}{
		{redisstore.WithLogPrefix("a{b}:"), "WithLogPrefix"},
		{redisstore.WithLogRetention(-time.Second), "WithLogRetention"},
		{redisstore.WithLogDeadRetention(-time.Second), "WithLogDeadRetention"},
	} {
		_, err := redisstore.NewLog(c, c2.opt)
		if !errors.Is(err, synclayer.ErrInvalidOption) || !strings.Contains(fmt.Sprint(err), c2.name) {
			t.Errorf("NewLog with a bad %s: %v, want ErrInvalidOption naming it", c2.name, err)
		}
	}
	l, err := redisstore.NewLog(c)
	if err != nil || l.Prefix() != redisstore.DefaultLogPrefix || !l.Durable() {
		t.Errorf("NewLog(c) = prefix %q, durable %v, %v; want the default prefix, durable", l.Prefix(), l.Durable(), err)
	}
}

// keysOf lists the event/connector pairs of ds.
func keysOf(ds []synclayer.Delivery) []string {
	var ks []string
	for _, d := range ds {
		ks = append(ks, d.EventID+"/"+d.Connector)
	}
	return ks
}

// Cleanup drops settled entries older than the retention and leaves
// pending ones, however old, and dead letters unless a dead retention is
// set; every index forgets what it drops.
func TestLogCleanup(t *testing.T) {
	ctx := t.Context()
	c := newClient(t)
	p := logPrefix(t, "cleanup")
	l := openLog(t, c, p, redisstore.WithLogRetention(time.Hour))
	old := time.Now().Add(-2 * time.Hour)
	put := func(l *redisstore.Log, id string, s synclayer.Status, at time.Time) {
		t.Helper()
		if err := l.Put(ctx, synclayer.Delivery{EventID: id, Connector: "calendar", State: s, Updated: at}); err != nil {
			t.Fatal(err)
		}
	}
	// Put drops a few old entries itself; a log with a long retention
	// writes the old ones so that Cleanup finds them all.
	writer := openLog(t, c, p, redisstore.WithLogRetention(1000*time.Hour))
	for i := range 600 {
		put(writer, fmt.Sprintf("old-synced-%d", i), synclayer.StatusSynced, old)
	}
	put(writer, "old-pending", synclayer.StatusPending, old.Add(-time.Hour))
	put(writer, "old-dead", synclayer.StatusDead, old)
	put(writer, "old-failed", synclayer.StatusFailed, old)
	put(writer, "old-in-progress", synclayer.StatusInProgress, old)
	put(writer, "new-synced", synclayer.StatusSynced, time.Now())

	n, err := l.Cleanup(ctx)
	if err != nil || n != 601 {
		t.Fatalf("Cleanup = %d, %v; want 601 (the old synced and in-progress entries)", n, err)
	}
	got, err := l.List(ctx, synclayer.DeliveryFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"new-synced/calendar", "old-failed/calendar", "old-dead/calendar", "old-pending/calendar"}; strings.Join(keysOf(got), " ") != strings.Join(want, " ") &&
		strings.Join(keysOf(got), " ") != strings.Join([]string{want[0], want[2], want[1], want[3]}, " ") {
		t.Errorf("after Cleanup: %v, want %v", keysOf(got), want)
	}
	if got, _ := l.List(ctx, synclayer.DeliveryFilter{Connector: "calendar", States: []synclayer.Status{synclayer.StatusSynced}}); len(got) != 1 {
		t.Errorf("synced entries of calendar after Cleanup: %v, want new-synced only", keysOf(got))
	}
	if card := c.ZCard(ctx, p+"{log}:s:3").Val(); card != 1 {
		t.Errorf("the synced index holds %d members after Cleanup, want 1", card)
	}

	dl := openLog(t, c, p, redisstore.WithLogRetention(time.Hour), redisstore.WithLogDeadRetention(time.Minute))
	if n, err := dl.Cleanup(ctx); err != nil || n != 2 {
		t.Fatalf("Cleanup with a dead retention = %d, %v; want 2 (the old dead and failed entries)", n, err)
	}
	got, _ = dl.List(ctx, synclayer.DeliveryFilter{})
	if strings.Join(keysOf(got), " ") != "new-synced/calendar old-pending/calendar" {
		t.Errorf("after Cleanup with a dead retention: %v, want new-synced and old-pending", keysOf(got))
	}
	keys, _ := c.Keys(ctx, p+"{log}:e:*").Result()
	if len(keys) != 2 {
		t.Errorf("%d entry keys left, want 2", len(keys))
	}
}

// Put trims: each Put drops up to 8 entries the retention lets go, never
// a pending one, so a log written to stays bounded without a janitor.
func TestLogPutTrims(t *testing.T) {
	ctx := t.Context()
	c := newClient(t)
	p := logPrefix(t, "trim")
	writer := openLog(t, c, p, redisstore.WithLogRetention(1000*time.Hour))
	old := time.Now().Add(-2 * time.Hour)
	for i := range 20 {
		if err := writer.Put(ctx, synclayer.Delivery{EventID: fmt.Sprintf("old-%02d", i), Connector: "gis", State: synclayer.StatusSynced, Updated: old}); err != nil {
			t.Fatal(err)
		}
		if err := writer.Put(ctx, synclayer.Delivery{EventID: fmt.Sprintf("held-%02d", i), Connector: "gis", State: synclayer.StatusPending, Updated: old}); err != nil {
			t.Fatal(err)
		}
	}
	l := openLog(t, c, p, redisstore.WithLogRetention(time.Hour))
	count := func() int {
		got, err := l.List(ctx, synclayer.DeliveryFilter{Connector: "gis", States: []synclayer.Status{synclayer.StatusSynced}, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		return len(got)
	}
	for i, want := range []int{12, 4, 0} {
		if err := l.Put(ctx, synclayer.Delivery{EventID: fmt.Sprintf("new-%d", i), Connector: "other", State: synclayer.StatusSynced, Updated: time.Now()}); err != nil {
			t.Fatal(err)
		}
		if got := count(); got != want {
			t.Errorf("after %d Puts: %d old synced entries, want %d", i+1, got, want)
		}
	}
	held, err := l.List(ctx, synclayer.DeliveryFilter{States: []synclayer.Status{synclayer.StatusPending}, Limit: 1000})
	if err != nil || len(held) != 20 {
		t.Errorf("pending entries after the trims: %d, %v; want all 20", len(held), err)
	}
}

// mgetCounter counts the entries List reads with MGET.
type mgetCounter struct{ keys atomic.Int64 }

func (h *mgetCounter) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h *mgetCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if cmd.Name() == "mget" {
			h.keys.Add(int64(len(cmd.Args()) - 1))
		}
		return next(ctx, cmd)
	}
}
func (h *mgetCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

// Listing the dead letters, or one connector's entries, reads those
// entries only, not the rest of the log: List walks the state's or the
// connector's index. With both, it walks the smaller.
func TestLogListReadsOnlyTheIndex(t *testing.T) {
	ctx := t.Context()
	counter := new(mgetCounter)
	c := newClient(t, counter)
	l := openLog(t, c, logPrefix(t, "index"))
	now := time.Now()
	for i := range 2000 {
		d := synclayer.Delivery{EventID: fmt.Sprintf("e-%04d", i), Connector: "calendar", State: synclayer.StatusSynced,
			Updated: now.Add(time.Duration(i) * time.Millisecond)}
		switch {
		case i%500 == 0:
			d.State = synclayer.StatusDead
		case i%100 == 0:
			d.Connector = "gis"
		}
		if err := l.Put(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		name string
		f    synclayer.DeliveryFilter
		want []string
	}{
		{"Dead", synclayer.DeliveryFilter{States: []synclayer.Status{synclayer.StatusDead}},
			[]string{"e-1500/calendar", "e-1000/calendar", "e-0500/calendar", "e-0000/calendar"}},
		{"Connector", synclayer.DeliveryFilter{Connector: "gis", Limit: 3}, []string{"e-1900/gis", "e-1800/gis", "e-1700/gis"}},
		{"ConnectorAndDead", synclayer.DeliveryFilter{Connector: "calendar", States: []synclayer.Status{synclayer.StatusDead}, Limit: 2},
			[]string{"e-1500/calendar", "e-1000/calendar"}},
	}
	for _, tc := range cases {
		counter.keys.Store(0)
		got, err := l.List(ctx, tc.f)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Join(keysOf(got), " ") != strings.Join(tc.want, " ") {
			t.Errorf("%s: %v, want %v", tc.name, keysOf(got), tc.want)
		}
		if n := counter.keys.Load(); n > 100 {
			t.Errorf("%s: List read %d entries of 2000, want at most a page of its index (100)", tc.name, n)
		}
	}
}

// A held route and a dead letter survive a restart of a Dispatcher over a
// Redis store and log: see storetest.Restart.
func TestLogHoldsSurviveRestart(t *testing.T) {
	storePrefix, lp := logPrefix(t, "restart_store"), logPrefix(t, "restart_log")
	storetest.Restart(t, func(t *testing.T) (synclayer.Store, synclayer.DeliveryLog) {
		c := newClient(t)
		store, err := redisstore.New(c, redisstore.WithPrefix(storePrefix))
		if err != nil {
			t.Fatal(err)
		}
		return store, openLog(t, c, lp)
	})
}

// Errors name the operation and the entry and wrap the client's error.
func TestLogErrors(t *testing.T) {
	c := newClient(t)
	l := openLog(t, c, logPrefix(t, "errors"))
	c.Close()
	err := l.Put(t.Context(), synclayer.Delivery{EventID: "evt-1", Connector: "calendar", State: synclayer.StatusSynced})
	if !errors.Is(err, redis.ErrClosed) || !strings.Contains(err.Error(), `put of log`) || !strings.Contains(err.Error(), `event "evt-1"`) {
		t.Errorf("Put on a closed client: %v", err)
	}
	_, err = l.List(t.Context(), synclayer.DeliveryFilter{Connector: "calendar"})
	if !errors.Is(err, redis.ErrClosed) || !strings.Contains(err.Error(), `list of log`) {
		t.Errorf("List on a closed client: %v", err)
	}
}

// RunJanitor drops an old synced entry within a few rounds and keeps an
// old pending one; cancelling stops it with the context's error.
func TestLogRunJanitor(t *testing.T) {
	c := newClient(t)
	p := logPrefix(t, "janitor")
	writer := openLog(t, c, p, redisstore.WithLogRetention(1000*time.Hour))
	l := openLog(t, c, p, redisstore.WithLogRetention(time.Hour))
	storetest.LogJanitor(t, writer, l, func(ctx context.Context, onErr func(error)) error {
		return l.RunJanitor(ctx, time.Millisecond, onErr)
	})
}

// Cleanup with an ended context drops nothing and says why.
func TestLogCleanupHonoursContext(t *testing.T) {
	l := openLog(t, newClient(t), logPrefix(t, "cleanupctx"))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if n, err := l.Cleanup(ctx); n != 0 || !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "cleanup of log") {
		t.Errorf("Cleanup with a cancelled context = %d, %v; want 0 and an error naming the cleanup, matching context.Canceled", n, err)
	}
}
