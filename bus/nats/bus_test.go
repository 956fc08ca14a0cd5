package nats_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/goleak"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/bus/nats"
	"github.com/hmsplatform/synclayer/internal/cloudevents"
	"github.com/hmsplatform/synclayer/internal/testenv"
	"github.com/hmsplatform/synclayer/synclayertest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// connect opens a connection to the test server, closed at cleanup.
func connect(t testing.TB) *natsgo.Conn {
	t.Helper()
	url := testenv.NATS.Need(t)
	nc, err := natsgo.Connect(url, natsgo.MaxReconnects(-1), natsgo.ReconnectWait(50*time.Millisecond))
	if err != nil {
		testenv.Unavailable(t, "NATS JetStream at "+url, err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// newBus makes a bus on a fresh stream, deleted at cleanup.
func newBus(t testing.TB, nc *natsgo.Conn, stream string, opts ...nats.Option) *nats.Bus {
	t.Helper()
	ctx := context.Background()
	b, err := nats.NewBus(ctx, nc, stream, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		js, _ := jetstream.New(nc)
		if err := js.DeleteStream(context.Background(), stream); err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
			t.Errorf("delete stream %s: %v", stream, err)
		}
	})
	return b
}

func TestBus(t *testing.T) {
	synclayertest.TestBus(t, func(t *testing.T, cfg synclayertest.BusConfig) synclayertest.BusFixture {
		nc := connect(t)
		b := newBus(t, nc, cfg.Name,
			nats.WithMaxDeliveries(cfg.MaxDeliveries),
			nats.WithRedeliveryDelay(cfg.RedeliveryDelay),
			nats.WithAckWait(5*time.Second))
		return synclayertest.BusFixture{
			Bus:         b,
			DeadLetters: deadLetters(b),
			CutConnection: func(context.Context) error {
				return nc.ForceReconnect()
			},
		}
	})
}

func deadLetters(b *nats.Bus) func(ctx context.Context) ([]synclayertest.DeadLetter, error) {
	return func(ctx context.Context) ([]synclayertest.DeadLetter, error) {
		dls, err := b.DeadLetters(ctx)
		var out []synclayertest.DeadLetter
		for _, dl := range dls {
			out = append(out, synclayertest.DeadLetter{Event: dl.Event, Err: dl.Reason, Deliveries: dl.Deliveries})
		}
		return out, err
	}
}

func uniqueName(t testing.TB) string {
	return "sltest-nats-" + strings.ToLower(strings.NewReplacer("/", "-", " ", "-").Replace(t.Name())) + "-" + time.Now().Format("150405.000000")[7:]
}

// Messages that are not valid events are dead-lettered at once with the
// reason, and do not hold up the valid events behind them. Binary-mode
// messages (ce- headers) are accepted.
func TestInvalidAndBinaryMessages(t *testing.T) {
	nc := connect(t)
	stream := uniqueName(t)
	b := newBus(t, nc, stream, nats.WithRedeliveryDelay(20*time.Millisecond))
	ctx := synclayertest.Within(t, 30*time.Second)

	raw := func(body string, h natsgo.Header) {
		t.Helper()
		msg := &natsgo.Msg{Subject: b.Subject("Order"), Data: []byte(body), Header: h}
		js, _ := jetstream.New(nc)
		if _, err := js.PublishMsg(ctx, msg); err != nil {
			t.Fatal(err)
		}
	}
	raw(`{"specversion":"1.0","type":"Order"`, nil)               // bad JSON
	raw(`{"specversion":"1.0","type":"Order","source":"x"}`, nil) // no id
	hdr, body, err := cloudevents.Binary(synclayer.Event{ID: "bin-1", Type: "Order", Data: json.RawMessage(`{"n":1}`)})
	if err != nil {
		t.Fatal(err)
	}
	nh := natsgo.Header{}
	for k, v := range hdr {
		nh.Set(k, v)
	}
	raw(string(body), nh)
	if err := b.Publish(ctx, synclayer.Event{ID: "ok-1", Type: "Order"}); err != nil {
		t.Fatal(err)
	}

	got := make(chan synclayer.Event, 10)
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- b.Subscribe(sctx, []string{"Order"}, func(_ context.Context, ev synclayer.Event) error {
			got <- ev
			return nil
		})
	}()
	var ids []string
	for len(ids) < 2 {
		select {
		case ev := <-got:
			ids = append(ids, ev.ID)
			if ev.ID == "bin-1" && string(ev.Data) != `{"n":1}` {
				t.Errorf("binary event data = %s", ev.Data)
			}
		case <-ctx.Done():
			t.Fatalf("valid events not delivered; got %v", ids)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Subscribe: %v", err)
	}
	slices.Sort(ids)
	if strings.Join(ids, ",") != "bin-1,ok-1" {
		t.Errorf("delivered %v, want [bin-1 ok-1]", ids)
	}
	dls, err := b.DeadLetters(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(dls) != 2 {
		t.Fatalf("%d dead letters, want 2: %+v", len(dls), dls)
	}
	// Handlers run concurrently: order the dead letters by reason.
	slices.SortFunc(dls, func(a, b nats.DeadLetter) int { return strings.Compare(a.Reason, b.Reason) })
	for i, want := range []string{"body is not a JSON object", "no id"} {
		dl := dls[i]
		if !strings.Contains(dl.Reason, "cloudevents: invalid event") || !strings.Contains(dl.Reason, want) {
			t.Errorf("dead letter %d reason = %q, want it to say %q", i, dl.Reason, want)
		}
		if dl.Deliveries != 1 || dl.Subject != b.Subject("Order") || len(dl.Body) == 0 {
			t.Errorf("dead letter %d = %+v", i, dl)
		}
	}
}

func TestPublishRefusesBadEvents(t *testing.T) {
	nc := connect(t)
	b := newBus(t, nc, uniqueName(t))
	ctx := synclayertest.Within(t, 10*time.Second)
	for _, ev := range []synclayer.Event{
		{ID: "a", Type: "has space"},
		{ID: "b", Type: "wild.*"},
		{ID: "c", Type: ""},
		{ID: "", Type: "T"},
		{ID: "d", Type: "T", Data: json.RawMessage(`{bad`)},
	} {
		err := b.Publish(ctx, ev)
		if err == nil || !synclayer.IsPermanent(err) || !strings.HasPrefix(err.Error(), "nats: ") {
			t.Errorf("Publish(%+v) = %v, want a permanent nats: error", ev, err)
		}
	}
	if err := b.Publish(ctx, synclayer.Event{ID: "e", Type: "Dotted.Type"}); err != nil {
		t.Errorf("a dotted type is a valid subject: %v", err)
	}
}

func TestNewBusValidates(t *testing.T) {
	nc := connect(t)
	ctx := context.Background()
	for _, stream := range []string{"", "a.b", "a b"} {
		if _, err := nats.NewBus(ctx, nc, stream); err == nil {
			t.Errorf("NewBus(%q) succeeded", stream)
		}
	}
	if _, err := nats.NewBus(ctx, nc, "x", nats.WithGroup("a.b")); err == nil {
		t.Error("NewBus with group a.b succeeded")
	}
	if _, err := nats.NewBus(ctx, nil, "x"); err == nil {
		t.Error("NewBus with a nil connection succeeded")
	}
}

// A handler that runs longer than the ack wait keeps its message: the bus
// tells the broker it is in progress, so the event is handled once.
func TestLongHandlerKeepsMessage(t *testing.T) {
	nc := connect(t)
	b := newBus(t, nc, uniqueName(t), nats.WithAckWait(500*time.Millisecond))
	ctx := synclayertest.Within(t, 30*time.Second)
	calls := make(chan string, 10)
	finished := make(chan struct{}, 10)
	h := func(_ context.Context, ev synclayer.Event) error {
		calls <- ev.ID
		time.Sleep(2 * time.Second) // four times the ack wait
		finished <- struct{}{}
		return nil
	}
	stops := make([]func() error, 2)
	for i := range stops {
		sctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- b.Subscribe(sctx, []string{"Order"}, h) }()
		stops[i] = func() error { cancel(); return <-done }
	}
	if err := b.Publish(ctx, synclayer.Event{ID: "slow", Type: "Order"}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-calls:
	case <-ctx.Done():
		t.Fatal("event not delivered")
	}
	// Both subscribers stay up until the first call is done: a redelivery
	// while it ran would have started a second call.
	<-finished
	for _, stop := range stops {
		if err := stop(); err != nil {
			t.Errorf("Subscribe: %v", err)
		}
	}
	if n := len(calls); n != 0 {
		t.Errorf("the event was handled %d more time(s): redelivered while its handler ran", n)
	}
}

// TestExampleFlow checks the steps of Example, which needs NATS JetStream and so
// has no Output line: the event published arrives intact, Subscribe
// returns nil once its context ends, and Close returns nil.
func TestExampleFlow(t *testing.T) {
	bus := newBus(t, connect(t), uniqueName(t), nats.WithGroup("calendar-sync"))
	ctx := synclayertest.Within(t, 30*time.Second)
	want := synclayer.Event{ID: "evt-1", Type: "WorkflowDeployed", Data: json.RawMessage(`{"id":"WF-123"}`)}
	if err := bus.Publish(ctx, want); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	var got synclayer.Event
	subCtx, stop := context.WithCancel(ctx)
	err := bus.Subscribe(subCtx, []string{"WorkflowDeployed"}, func(_ context.Context, ev synclayer.Event) error {
		got = ev
		stop()
		return nil
	})
	if err != nil {
		t.Errorf("Subscribe returned %v, want nil", err)
	}
	if got.ID != want.ID || got.Type != want.Type || string(got.Data) != string(want.Data) {
		t.Errorf("received %+v, want %+v", got, want)
	}
	if err := bus.Close(ctx); err != nil {
		t.Errorf("Close: %v", err)
	}
}
