package amqp_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	amqpgo "github.com/rabbitmq/amqp091-go"
	"go.uber.org/goleak"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/bus/amqp"
	"github.com/hmsplatform/synclayer/internal/cloudevents"
	"github.com/hmsplatform/synclayer/internal/testenv"
	"github.com/hmsplatform/synclayer/synclayertest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// dialer records the connections it makes, so a test can cut them as a
// broker restart would (the broker's side is not reachable from a test).
type dialer struct {
	mu    sync.Mutex
	conns []net.Conn
}

func (d *dialer) dial(network, addr string) (net.Conn, error) {
	c, err := net.DialTimeout(network, addr, 5*time.Second)
	if err == nil {
		d.mu.Lock()
		d.conns = append(d.conns, c)
		d.mu.Unlock()
	}
	return c, err
}

func (d *dialer) cut() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, c := range d.conns {
		c.Close()
	}
	d.conns = nil
	return nil
}

// newBus makes a bus with a unique exchange, deleting its exchange and
// queues at cleanup.
func newBus(t testing.TB, name string, opts ...amqp.Option) (*amqp.Bus, *dialer) {
	t.Helper()
	url := testenv.RabbitMQ.Need(t)
	d := &dialer{}
	opts = append(opts, amqp.WithConfig(amqpgo.Config{Dial: d.dial}))
	b, err := amqp.NewBus(context.Background(), url, name, opts...)
	if err != nil {
		testenv.Unavailable(t, "RabbitMQ", err)
	}
	t.Cleanup(func() {
		b.Close(context.Background())
		conn, err := amqpgo.Dial(url)
		if err != nil {
			t.Errorf("cleanup: %v", err)
			return
		}
		defer conn.Close()
		for _, q := range append([]string{b.Queue(), b.DeadLetterQueue()}, append(b.RetryQueues(), b.DeferralQueues()...)...) {
			if ch, err := conn.Channel(); err == nil {
				ch.QueueDelete(q, false, false, false)
				ch.Close()
			}
		}
		if ch, err := conn.Channel(); err == nil {
			ch.ExchangeDelete(name, false, false)
			ch.Close()
		}
	})
	return b, d
}

func TestBus(t *testing.T) {
	synclayertest.TestBus(t, func(t *testing.T, cfg synclayertest.BusConfig) synclayertest.BusFixture {
		b, d := newBus(t, cfg.Name,
			amqp.WithMaxDeliveries(cfg.MaxDeliveries),
			amqp.WithRedeliveryDelay(cfg.RedeliveryDelay))
		return synclayertest.BusFixture{
			Bus:           b,
			DeadLetters:   deadLetters(b),
			CutConnection: func(context.Context) error { return d.cut() },
		}
	})
}

func deadLetters(b *amqp.Bus) func(ctx context.Context) ([]synclayertest.DeadLetter, error) {
	return func(ctx context.Context) ([]synclayertest.DeadLetter, error) {
		dls, err := b.DeadLetters(ctx, 1000)
		var out []synclayertest.DeadLetter
		for _, dl := range dls {
			out = append(out, synclayertest.DeadLetter{Event: dl.Event, Err: dl.Reason, Deliveries: dl.Deliveries})
		}
		return out, err
	}
}

func uniqueName(t testing.TB) string {
	return fmt.Sprintf("sltest-amqp-%s-%d", strings.ToLower(strings.ReplaceAll(t.Name(), "/", "-")), time.Now().UnixNano())
}

// Messages that are not valid events are dead-lettered at once with the
// reason, and do not hold up the valid events behind them. Binary-mode
// messages (cloudEvents: headers) are accepted.
func TestInvalidAndBinaryMessages(t *testing.T) {
	name := uniqueName(t)
	b, _ := newBus(t, name)
	ctx := synclayertest.Within(t, 30*time.Second)

	got := make(chan synclayer.Event, 10)
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- b.Subscribe(sctx, []string{"Order"}, func(_ context.Context, ev synclayer.Event) error {
			got <- ev
			return nil
		})
	}()
	// Wait until the queue is bound: publish until an event arrives.
	for warm := 0; ; warm++ {
		if err := b.Publish(ctx, synclayer.Event{ID: fmt.Sprint("warm-", warm), Type: "Order"}); err != nil {
			t.Fatal(err)
		}
		select {
		case <-got:
		case <-time.After(200 * time.Millisecond):
			continue
		case <-ctx.Done():
			t.Fatal("subscriber never ready")
		}
		break
	}
	for len(got) > 0 {
		<-got
	}

	conn, err := amqpgo.Dial(testenv.RabbitMQ.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	raw := func(p amqpgo.Publishing) {
		t.Helper()
		if err := ch.PublishWithContext(ctx, name, "Order", false, false, p); err != nil {
			t.Fatal(err)
		}
	}
	raw(amqpgo.Publishing{Body: []byte(`{"specversion":"1.0","type":"Order"`)})  // bad JSON
	raw(amqpgo.Publishing{Body: []byte(`{"specversion":"1.0","type":"Order"}`)}) // no id
	hdr, body, err := cloudevents.Binary(synclayer.Event{ID: "bin-1", Type: "Order", Data: json.RawMessage(`{"n":1}`)})
	if err != nil {
		t.Fatal(err)
	}
	table := amqpgo.Table{}
	for k, v := range hdr {
		if k != "content-type" {
			table["cloudEvents:"+strings.TrimPrefix(k, "ce-")] = v
		}
	}
	raw(amqpgo.Publishing{Headers: table, ContentType: "application/json", Body: body})
	if err := b.Publish(ctx, synclayer.Event{ID: "ok-1", Type: "Order"}); err != nil {
		t.Fatal(err)
	}

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
	slices.Sort(ids)
	if strings.Join(ids, ",") != "bin-1,ok-1" {
		t.Errorf("delivered %v, want [bin-1 ok-1]", ids)
	}
	var dls []amqp.DeadLetter
	for len(dls) < 2 && ctx.Err() == nil {
		dls, err = b.DeadLetters(ctx, 10)
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Subscribe: %v", err)
	}
	if len(dls) != 2 {
		t.Fatalf("%d dead letters, want 2: %+v", len(dls), dls)
	}
	slices.SortFunc(dls, func(a, b amqp.DeadLetter) int { return strings.Compare(a.Reason, b.Reason) })
	for i, want := range []string{"body is not a JSON object", "no id"} {
		dl := dls[i]
		if !strings.Contains(dl.Reason, "cloudevents: invalid event") || !strings.Contains(dl.Reason, want) {
			t.Errorf("dead letter %d reason = %q, want it to say %q", i, dl.Reason, want)
		}
		if dl.Deliveries != 1 || len(dl.Body) == 0 {
			t.Errorf("dead letter %d = %+v", i, dl)
		}
	}
}

func TestNewBusValidates(t *testing.T) {
	ctx := context.Background()
	for _, ex := range []string{"", "amq.topic"} {
		if _, err := amqp.NewBus(ctx, "amqp://guest:guest@127.0.0.1:1/", ex); err == nil {
			t.Errorf("NewBus(%q) succeeded", ex)
		}
	}
	_, err := amqp.NewBus(ctx, "amqp://guest:s3cret@127.0.0.1:1/", "x")
	if err == nil || strings.Contains(err.Error(), "s3cret") || !strings.HasPrefix(err.Error(), "amqp: ") {
		t.Errorf("NewBus on a closed port = %v, want an amqp: error without the password", err)
	}
}

// After Close, the bus refuses work with ErrClosed instead of dialling
// again.
func TestClosed(t *testing.T) {
	b, _ := newBus(t, uniqueName(t))
	if err := b.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx := synclayertest.Within(t, 10*time.Second)
	if err := b.Publish(ctx, synclayer.Event{ID: "a", Type: "T"}); !errors.Is(err, amqp.ErrClosed) {
		t.Errorf("Publish after Close = %v, want ErrClosed", err)
	}
	if err := b.Subscribe(ctx, []string{"T"}, func(context.Context, synclayer.Event) error { return nil }); !errors.Is(err, amqp.ErrClosed) {
		t.Errorf("Subscribe after Close = %v, want ErrClosed", err)
	}
}

// TestExampleFlow checks the steps of Example, which needs RabbitMQ and so
// has no Output line: the event published arrives intact, Subscribe
// returns nil once its context ends, and Close returns nil.
func TestExampleFlow(t *testing.T) {
	bus, _ := newBus(t, uniqueName(t), amqp.WithGroup("calendar-sync"))
	ctx := synclayertest.Within(t, 30*time.Second)
	if err := bus.Declare(ctx, []string{"WorkflowDeployed"}); err != nil {
		t.Fatalf("Declare: %v", err)
	}
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
