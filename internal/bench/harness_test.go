package bench_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/internal/cloudevents"
	"github.com/hmsplatform/synclayer/internal/testwait"
	"github.com/hmsplatform/synclayer/synclayertest"
)

// The shape of one run.
const (
	benchEvents     = 20_000
	benchKeys       = 2_000
	benchPublishers = 16 // benchKeys is a multiple: each key has one publisher
	benchBatch      = 100
	// benchHandlers is every bus's handler concurrency (WithConcurrency),
	// as the README's "The durable path" advises for a shared store.
	benchHandlers = 512
	benchType     = "Bench"
	runTimeout    = 3 * time.Minute // a stuck run fails instead of hanging
)

// payload is the Data of a benchmark event.
type payload struct {
	Key     string `json:"key"`
	Version int64  `json:"version"`
}

// mapper maps an event to its key at its version.
var mapper = synclayer.MapJSON(func(_ context.Context, _ synclayer.Event, p payload) (synclayer.Record, error) {
	return synclayer.Record{Key: p.Key, Version: p.Version}, nil
})

// eventOf returns event i of a run: key i mod benchKeys, version
// i/benchKeys+1.
func eventOf(run string, i int) synclayer.Event {
	key := "k-" + strconv.Itoa(i%benchKeys)
	return synclayer.Event{
		ID:      run + "-" + strconv.Itoa(i),
		Type:    benchType,
		Source:  "bench",
		Subject: key,
		Time:    time.Now().UTC(),
		Data:    fmt.Appendf(nil, `{"key":%q,"version":%d}`, key, i/benchKeys+1),
	}
}

// eventIndex is the inverse of eventOf's ID: i, or -1.
func eventIndex(id string) int {
	n, err := strconv.Atoi(id[strings.LastIndexByte(id, '-')+1:])
	if err != nil {
		return -1
	}
	return n
}

// publishAll publishes events 0..n-1 of run from benchPublishers
// goroutines. Publisher p sends i = p, p+16, ..., so every key's versions
// go out in order.
func publishAll(tb testing.TB, pub synclayer.Publisher, run string, n int) {
	tb.Helper()
	ctx := context.Background()
	var wg sync.WaitGroup
	var failed atomic.Value
	for p := range benchPublishers {
		wg.Go(func() {
			for i := p; i < n; i += benchPublishers {
				if err := pub.Publish(ctx, eventOf(run, i)); err != nil {
					failed.Store(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err, _ := failed.Load().(error); err != nil {
		tb.Fatalf("publish: %v", err)
	}
}

// tracker counts the distinct events of a run acknowledged so far and
// closes done when all n are.
type tracker struct {
	seen []atomic.Bool
	n    atomic.Int64
	done chan struct{}
}

func newTracker(n int) *tracker {
	return &tracker{seen: make([]atomic.Bool, n), done: make(chan struct{})}
}

func (t *tracker) ack(id string) {
	i := eventIndex(id)
	if i < 0 || i >= len(t.seen) || t.seen[i].Swap(true) {
		return
	}
	if t.n.Add(1) == int64(len(t.seen)) {
		close(t.done)
	}
}

// ackCounter is the bus as Run sees it: every handler call that returns
// nil for a benchmark event, which the bus then acknowledges, is counted.
type ackCounter struct {
	synclayer.Subscriber
	t *tracker
}

func (s ackCounter) Subscribe(ctx context.Context, types []string, h func(context.Context, synclayer.Event) error) error {
	return s.Subscriber.Subscribe(ctx, types, func(ctx context.Context, ev synclayer.Event) error {
		err := h(ctx, ev)
		if err == nil && ev.Type == benchType {
			s.t.ack(ev.ID)
		}
		return err
	})
}

// outcome is what one Dispatcher run measured.
type outcome struct {
	elapsed time.Duration // from Run's start to the last acknowledgement
	pushes  int64         // calls of the connector
}

// runDispatcher consumes n waiting events from sub with one Dispatcher
// (a no-op connector with the default concurrency, store, announcements
// to pub, observer obs) until every one is acknowledged, then stops it.
func runDispatcher(tb testing.TB, sub synclayer.Subscriber, pub synclayer.Publisher, store synclayer.Store, obs synclayer.Observer, n int) outcome {
	tb.Helper()
	var pushes atomic.Int64
	noop := synclayer.ConnectorFunc(func(context.Context, synclayer.Record) error {
		pushes.Add(1)
		return nil
	})
	reg := new(synclayer.Registry)
	if err := reg.Register("noop", noop, synclayer.Route(benchType, mapper)); err != nil {
		tb.Fatal(err)
	}
	d := synclayertest.NewDispatcher(tb, reg, synclayer.WithStore(store), synclayer.WithPublisher(pub), synclayer.WithObserver(obs))
	tr := newTracker(n)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	runErr := make(chan error, 1)
	start := time.Now()
	go func() { runErr <- d.Run(ctx, ackCounter{sub, tr}) }()
	timeout := time.NewTimer(runTimeout)
	defer timeout.Stop()
	select {
	case <-tr.done:
	case err := <-runErr:
		tb.Fatalf("Run returned after %d of %d events: %v", tr.n.Load(), n, err)
	case <-timeout.C:
		cancel()
		<-runErr
		tb.Fatalf("only %d of %d events acknowledged after %v", tr.n.Load(), n, runTimeout)
	}
	out := outcome{elapsed: time.Since(start)}
	cancel()
	if err := <-runErr; err != nil {
		tb.Fatalf("Run: %v", err)
	}
	out.pushes = pushes.Load()
	return out
}

// waitFor polls cond through testwait.For until it holds or 30s pass,
// then fails tb with what cond last said. It checks broker state after the
// timed part.
func waitFor(tb testing.TB, what string, cond func() (bool, string)) {
	tb.Helper()
	var state string
	testwait.For(tb, 30*time.Second, func() string { return what + ": still " + state }, func() bool {
		ok, s := cond()
		state = s
		return ok
	})
}

// rawAnnouncement returns what a raw client publishes for event id of key:
// the CloudEvent the Dispatcher would announce for it, under an ID of its
// own (JetStream would drop a second message with the Dispatcher's ID).
func rawAnnouncement(tb testing.TB, id, key string) (announceID string, body []byte) {
	data, err := json.Marshal(synclayer.Announcement{EventID: id, EventType: benchType, Results: []synclayer.AnnouncedResult{
		{Connector: "noop", Key: key, Status: synclayer.StatusSynced, Attempts: 1},
	}})
	if err != nil {
		tb.Fatal(err)
	}
	announceID = "raw-" + synclayer.SyncCompleted + ":" + id
	body, err = cloudevents.Marshal(synclayer.Event{
		ID: announceID, Type: synclayer.SyncCompleted, Source: "synclayer", Subject: id, Time: time.Now().UTC(), Data: data,
	})
	if err != nil {
		tb.Fatal(err)
	}
	return announceID, body
}

// rawKey is the record key of a raw message: decoding the CloudEvent and
// its data is part of the raw client's work.
func rawKey(tb testing.TB, body []byte) (id, key string) {
	ev, err := cloudevents.Decode(body, nil)
	if err != nil {
		tb.Fatalf("raw: %v", err)
	}
	var p payload
	if err := json.Unmarshal(ev.Data, &p); err != nil {
		tb.Fatalf("raw: event %s: %v", ev.ID, err)
	}
	return ev.ID, p.Key
}
