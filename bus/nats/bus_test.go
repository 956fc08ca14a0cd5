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
	"github.com/hmsplatform/synclayer/bus/internal/bustest"
	"github.com/hmsplatform/synclayer/bus/nats"
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
	b := openBus(t, nc, stream, opts...)
	t.Cleanup(func() {
		js, _ := jetstream.New(nc)
		if err := js.DeleteStream(context.Background(), stream); err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
			t.Errorf("delete stream %s: %v", stream, err)
		}
	})
	return b
}

// openBus makes a bus on the stream, which it leaves in place: alone for
// newBus, or for one more bus on the stream of a bus newBus made.
func openBus(t testing.TB, nc *natsgo.Conn, stream string, opts ...nats.Option) *nats.Bus {
	t.Helper()
	b, err := nats.NewBus(context.Background(), nc, stream, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestBus(t *testing.T) {
	synclayertest.TestBus(t, func(t *testing.T, cfg synclayertest.BusConfig) synclayertest.BusFixture {
		nc := connect(t)
		b := newBus(t, nc, cfg.Name,
			nats.WithMaxDeliveries(cfg.MaxDeliveries),
			nats.WithRedeliveryDelay(cfg.RedeliveryDelay),
			nats.WithAckWait(5*time.Second))
		return bustest.Fixture(b, b.DeadLetters, letter, func(context.Context) error { return nc.ForceReconnect() })
	})
}

// letter says what a dead letter holds, for bustest.Fixture.
func letter(dl nats.DeadLetter) (synclayer.Event, string, int) {
	return dl.Event, dl.Reason, dl.Deliveries
}

// Messages that are not valid events are dead-lettered at once with the
// reason, and do not hold up the valid events behind them. Binary-mode
// messages (ce- headers) are accepted.
func TestInvalidAndBinaryMessages(t *testing.T) {
	nc := connect(t)
	stream := bustest.UniqueName(t, "nats")
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
	hdr, body := bustest.Binary(t)
	nh := natsgo.Header{}
	for k, v := range hdr {
		nh.Set(k, v)
	}
	raw(string(body), nh)
	if err := b.Publish(ctx, synclayer.Event{ID: "ok-1", Type: "Order"}); err != nil {
		t.Fatal(err)
	}

	bustest.SameIDs(t, bustest.ReceiveAll(ctx, t, b, 2), "bin-1", "ok-1")
	dls, err := b.DeadLetters(ctx)
	if err != nil {
		t.Fatal(err)
	}
	dls = bustest.Reasons(t, dls, func(dl nats.DeadLetter) string { return dl.Reason }, "body is not a JSON object", "no id")
	for i, dl := range dls {
		if dl.Deliveries != 1 || dl.Subject != b.Subject("Order") || len(dl.Body) == 0 {
			t.Errorf("dead letter %d = %+v", i, dl)
		}
	}
}

func TestPublishRefusesBadEvents(t *testing.T) {
	nc := connect(t)
	b := newBus(t, nc, bustest.UniqueName(t, "nats"))
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
	if _, err := nats.NewBus(ctx, nil, "x"); !errors.Is(err, synclayer.ErrInvalidOption) {
		t.Errorf("NewBus with a nil connection: %v; want an error wrapping ErrInvalidOption", err)
	}
}

// A handler that runs longer than the ack wait keeps its message: the bus
// tells the broker it is in progress, so the event is handled once.
func TestLongHandlerKeepsMessage(t *testing.T) {
	b := newBus(t, connect(t), bustest.UniqueName(t, "nats"), nats.WithAckWait(500*time.Millisecond))
	// Four times the ack wait; the call's return settles the message.
	bustest.LongHandlerKept(t, b, 2*time.Second, func(context.Context) bool { return true })
}

// TestExampleFlow checks the steps of Example, whose batch sends its first
// event twice: the copy is dropped.
func TestExampleFlow(t *testing.T) {
	bus := newBus(t, connect(t), bustest.UniqueName(t, "nats"), nats.WithGroup("calendar-sync"), nats.WithConcurrency(1))
	first := synclayer.Event{ID: "evt-1", Type: "WorkflowDeployed", Data: json.RawMessage(`{"id":"WF-123"}`)}
	second := synclayer.Event{ID: "evt-2", Type: "WorkflowDeployed", Data: json.RawMessage(`{"id":"WF-124"}`)}
	got := bustest.ExampleFlow(t, bus, func(ctx context.Context) error {
		return bus.PublishBatch(ctx, []synclayer.Event{first, first, second})
	}, func(n int, stop func()) error {
		if n == 2 {
			stop()
		}
		return nil
	})
	bustest.SameEvents(t, got, first, second)
}

// Every option follows the option rule: a bad value is an error naming it.
func TestInvalidOptions(t *testing.T) {
	nc := connect(t)
	bustest.InvalidOptions(t, func(o nats.Option) error {
		_, err := nats.NewBus(context.Background(), nc, "x", o)
		return err
	}, bustest.SharedOptions(nats.WithMaxDeliveries, nats.WithRedeliveryDelay, nats.WithConcurrency), map[string]nats.Option{
		"WithAckWait(-1s)":        nats.WithAckWait(-time.Second),
		"WithGroup(a.b)":          nats.WithGroup("a.b"),
		"WithSubjectPrefix(a..b)": nats.WithSubjectPrefix("a..b"),
	})
}

// When the broker deletes the consumer of one of several event types,
// Subscribe stops consuming the others too and returns the error, instead
// of running on without that type until its context ends.
func TestConsumerDeletedEndsSubscribe(t *testing.T) {
	nc := connect(t)
	stream := bustest.UniqueName(t, "nats")
	b := newBus(t, nc, stream)
	ctx := synclayertest.Within(t, 30*time.Second)
	got := make(chan string, 2)
	done := make(chan error, 1)
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		done <- b.Subscribe(sctx, []string{"A", "B"}, func(_ context.Context, ev synclayer.Event) error {
			got <- ev.ID
			return nil
		})
	}()
	// Both consumers exist once an event of each type is handled.
	for _, typ := range []string{"A", "B"} {
		if err := b.Publish(ctx, synclayer.Event{ID: "first-" + typ, Type: typ}); err != nil {
			t.Fatal(err)
		}
		bustest.Wait(ctx, t, got, "the event of type "+typ+" was not handled")
	}
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	if err := js.DeleteConsumer(ctx, stream, "synclayer-A"); err != nil {
		t.Fatal(err)
	}
	err = bustest.Wait(ctx, t, done, "Subscribe still runs after the consumer of A was deleted")
	if !errors.Is(err, jetstream.ErrConsumerDeleted) {
		t.Fatalf("Subscribe returned %v; want an error wrapping jetstream.ErrConsumerDeleted", err)
	}
}

// Two groups on one stream that both give up on the same message each
// publish their dead letter: JetStream's duplicate window does not drop
// the second group's.
func TestTwoGroupsDeadLetterTheSameMessage(t *testing.T) {
	nc := connect(t)
	stream := bustest.UniqueName(t, "nats")
	a := newBus(t, nc, stream, nats.WithGroup("ga"))
	b := openBus(t, nc, stream, nats.WithGroup("gb"))
	ctx := synclayertest.Within(t, 30*time.Second)
	refuse := func(group string) func(context.Context, synclayer.Event) error {
		return func(context.Context, synclayer.Event) error {
			return synclayer.Permanent(errors.New("refused by " + group))
		}
	}
	bustest.Subscribe(t, a, []string{"Order"}, refuse("ga"))
	bustest.Subscribe(t, b, []string{"Order"}, refuse("gb"))
	if err := a.Publish(ctx, synclayer.Event{ID: "e1", Type: "Order"}); err != nil {
		t.Fatal(err)
	}
	var dls []nats.DeadLetter
	bustest.Eventually(ctx, t, func() bool {
		var err error
		dls, err = a.DeadLetters(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return len(dls) >= 2
	}, "one group's dead letter is missing")
	reasons := []string{dls[0].Reason, dls[1].Reason}
	slices.Sort(reasons)
	if len(dls) != 2 || reasons[0] != "refused by ga" || reasons[1] != "refused by gb" {
		t.Fatalf("dead letters %+v; want one of each group", dls)
	}
}

// A handler cut short by its subscriber stopping, on the event's last
// allowed delivery, gets the event handed back instead of dead-lettered.
func TestInterruptedHandlerHandsBack(t *testing.T) {
	b := newBus(t, connect(t), bustest.UniqueName(t, "nats"), nats.WithMaxDeliveries(1))
	bustest.InterruptedHandedBack(t, bustest.Fixture(b, b.DeadLetters, letter, nil))
}

// A handler cut short by Close giving up waiting, on the event's last
// allowed delivery, gets the event handed back to the group instead of
// dead-lettered.
func TestCloseInterruptedHandlerHandsBack(t *testing.T) {
	nc := connect(t)
	stream := bustest.UniqueName(t, "nats")
	next := newBus(t, nc, stream, nats.WithMaxDeliveries(1))
	closing := openBus(t, nc, stream, nats.WithMaxDeliveries(1))
	bustest.CloseInterruptedHandedBack(t, closing, bustest.Fixture(next, next.DeadLetters, letter, nil))
}
