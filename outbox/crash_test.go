package outbox_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/bus/nats"
	"github.com/hmsplatform/synclayer/internal/testenv"
	"github.com/hmsplatform/synclayer/internal/testproc"
	"github.com/hmsplatform/synclayer/internal/testwait"
	"github.com/hmsplatform/synclayer/outbox"
	"github.com/hmsplatform/synclayer/synclayertest"
)

// crashEnv carries a crashConfig to a relay child process.
const crashEnv = "SYNCLAYER_OUTBOX_RELAY_CHILD"

// crashConfig tells a child which outbox to relay to which stream.
type crashConfig struct {
	Driver, DSN, Table, NATS, Stream string
	Dialect                          outbox.Dialect
}

// crashLease is the children's lease: a killed child's claims pass to the
// other within about a second.
const crashLease = time.Second

// TestRelayChild is the child process of TestRelayCrash: it relays the
// outbox to JetStream until it is killed. It skips unless TestRelayCrash
// started it.
func TestRelayChild(t *testing.T) {
	var cfg crashConfig
	testproc.Config(t, crashEnv, "TestRelayCrash", &cfg)
	// The parent kills the child; the timeout only guards against an
	// orphan if the parent dies first.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	db := openDialect(t, cfg.Driver, cfg.Dialect, cfg.DSN)
	nc, err := natsgo.Connect(cfg.NATS, natsgo.Timeout(3*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	bus := newNATSBus(t, ctx, nc, cfg.Stream)
	ob, err := outbox.New(db, cfg.Dialect, cfg.Table, outbox.WithLease(crashLease), outbox.WithBatch(64))
	if err != nil {
		t.Fatal(err)
	}
	if err := ob.Relay(ctx, bus); err != nil {
		t.Fatal(err)
	}
}

// startRelayChild starts a relay child process (TestRelayChild) with cfg.
func startRelayChild(t *testing.T, cfg crashConfig) *testproc.Child {
	t.Helper()
	return testproc.Start(t, "TestRelayChild", crashEnv, cfg)
}

// TestRelayCrash writes 5,000 events through the outbox on each database
// while two relay processes publish them to NATS JetStream, one of them
// SIGKILLed five times at random points and restarted. Every committed
// event must reach the stream (once: JetStream drops the republished ones
// by message id), no rolled-back one ever, and through a Dispatcher each of
// two recording partners must end with one record per key at the newest
// version.
func TestRelayCrash(t *testing.T) {
	inParent(t)
	eachDB(t, relayCrash)
}

// relayCrash is TestRelayCrash on one database. The parent and the
// children share it: on SQLite, a file in the parent's t.TempDir().
func relayCrash(t *testing.T, c dbCase) {
	natsURL := testenv.NATS.Need(t)
	dsn := c.dsn(t)
	db := openDialect(t, c.driver, c.dialect, dsn)
	ob := newOutbox(t, db, c.dialect)
	cfg := crashConfig{Driver: c.driver, DSN: dsn, Dialect: c.dialect, Table: ob.Table(), NATS: natsURL,
		Stream: "outbox-crash-" + c.name + "-" + strings.ReplaceAll(uniqueName("s"), "_", "-")}
	ctx := t.Context()

	nc, err := natsgo.Connect(natsURL, natsgo.Timeout(3*time.Second))
	if err != nil {
		testenv.Unavailable(t, "NATS JetStream", err)
	}
	t.Cleanup(nc.Close)
	t.Cleanup(func() {
		if js, err := jetstream.New(nc); err == nil {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = js.DeleteStream(ctx, cfg.Stream)
		}
	})
	observerBus := newNATSBus(t, ctx, nc, cfg.Stream, nats.WithGroup("observer"))
	partnerBus := newNATSBus(t, ctx, nc, cfg.Stream, nats.WithGroup("partners"))

	// The observer: every event that reaches the stream.
	arrived := newRecorder()
	// The partners, behind a dispatcher.
	records, calendar := synclayertest.NewFake(), synclayertest.NewFake()
	toRecord := synclayer.MapJSON(func(_ context.Context, _ synclayer.Event, it item) (synclayer.Record, error) {
		return synclayer.Record{Key: it.Key, Version: it.V*10 + int64(it.J), Payload: it}, nil
	})
	reg := new(synclayer.Registry)
	for name, f := range map[string]*synclayertest.Fake{"records": records, "calendar": calendar} {
		if err := reg.Register(name, f, synclayer.Route("ItemChanged", toRecord)); err != nil {
			t.Fatal(err)
		}
	}
	d := synclayertest.NewDispatcher(t, reg, synclayer.WithObserver(synclayer.NoObserver))
	subCtx, stopSubs := context.WithCancel(context.Background())
	var subs sync.WaitGroup
	subs.Go(func() {
		if err := observerBus.Subscribe(subCtx, []string{"ItemChanged"}, arrived.Publish); err != nil {
			t.Errorf("observer: %v", err)
		}
	})
	subs.Go(func() {
		if err := d.Run(subCtx, partnerBus); err != nil {
			t.Errorf("dispatcher: %v", err)
		}
	})
	t.Cleanup(func() {
		stopSubs()
		subs.Wait()
	})

	// The second relay lives through the whole run; the first is killed
	// five times, each after 300ms to 1.2s.
	second := startRelayChild(t, cfg)
	kills := make(chan error, 1)
	go func() {
		for range 5 {
			c := startRelayChild(t, cfg)
			time.Sleep(time.Duration(300+rand.IntN(900)) * time.Millisecond)
			if err := c.Kill(); err != nil {
				kills <- err
				return
			}
		}
		kills <- nil
	}()
	w := newWorkload(t, db, c.dialect, ob, 5000, 8, 100)
	w.pause = 12 * time.Millisecond // spread the writes over the kills
	start := time.Now()
	w.drive(t)
	if err := <-kills; err != nil {
		t.Fatal(err)
	}
	first := startRelayChild(t, cfg)

	want := map[string]int64{}
	w.mu.Lock()
	for _, it := range w.committed {
		want[it.Key] = max(want[it.Key], it.V*10+int64(it.J))
	}
	committed := len(w.committed)
	w.mu.Unlock()
	atNewest := func(f *synclayertest.Fake) bool {
		got := f.Records()
		if len(got) != len(want) {
			return false
		}
		for k, v := range want {
			if got[k].Version != v {
				return false
			}
		}
		return true
	}
	testwait.For(t, 90*time.Second, func() string {
		return fmt.Sprintf("%d of %d committed events arrived; relay outputs:\n%s\n%s", arrived.distinct(), committed, first.Output(), second.Output())
	}, func() bool {
		if arrived.distinct() < committed || !atNewest(records) || !atNewest(calendar) {
			return false
		}
		n, _, err := ob.Backlog(ctx)
		return err == nil && n == 0
	})
	elapsed := time.Since(start)
	for _, c := range []*testproc.Child{first, second} {
		if err := c.Kill(); err != nil {
			t.Fatal(err)
		}
	}

	w.mu.Lock()
	for _, ev := range arrived.events() {
		if _, ok := w.committed[ev.ID]; !ok {
			t.Errorf("event %s arrived but was never committed", ev.ID)
		}
	}
	w.mu.Unlock()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := streamMsgs(ctx, js, cfg.Stream)
	if err != nil {
		t.Fatal(err)
	}
	if msgs != uint64(committed) {
		t.Errorf("the stream holds %d messages for %d committed events", msgs, committed)
	}
	for name, f := range map[string]*synclayertest.Fake{"records": records, "calendar": calendar} {
		if !atNewest(f) {
			t.Errorf("%s: %d keys, not all at the newest version", name, len(f.Records()))
		}
	}
	t.Logf("%d committed events (%d rolled back) over %d keys, relay killed 5 times: all on the stream (%d messages), deliveries to the observer %d, both partners at the newest version, in %v",
		committed, len(w.rolledBack), len(want), msgs, len(arrived.events()), elapsed.Round(time.Millisecond))
}
