package amqp_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	amqpgo "github.com/rabbitmq/amqp091-go"
	"go.uber.org/goleak"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/bus/amqp"
	"github.com/hmsplatform/synclayer/bus/internal/bustest"
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
		read := func(ctx context.Context) ([]amqp.DeadLetter, error) { return b.DeadLetters(ctx, 1000) }
		return bustest.Fixture(b, read, letter, func(context.Context) error { return d.cut() })
	})
}

// letter says what a dead letter holds, for bustest.Fixture.
func letter(dl amqp.DeadLetter) (synclayer.Event, string, int) {
	return dl.Event, dl.Reason, dl.Deliveries
}

// Messages that are not valid events are dead-lettered at once with the
// reason, and do not hold up the valid events behind them. Binary-mode
// messages (cloudEvents: headers) are accepted.
func TestInvalidAndBinaryMessages(t *testing.T) {
	name := bustest.UniqueName(t, "amqp")
	b, _ := newBus(t, name)
	ctx := synclayertest.Within(t, 30*time.Second)

	h, got := bustest.Collector()
	stop := bustest.Subscribe(t, b, []string{"Order"}, h)
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
	hdr, body := bustest.Binary(t)
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

	bustest.SameIDs(t, bustest.Received(ctx, t, got, 2), "bin-1", "ok-1")
	var dls []amqp.DeadLetter
	bustest.Eventually(ctx, t, func() bool {
		if dls, err = b.DeadLetters(ctx, 10); err != nil {
			t.Fatal(err)
		}
		return len(dls) >= 2
	}, "the invalid messages were never dead-lettered")
	if err := stop(); err != nil {
		t.Errorf("Subscribe: %v", err)
	}
	dls = bustest.Reasons(t, dls, func(dl amqp.DeadLetter) string { return dl.Reason }, "body is not a JSON object", "no id")
	for i, dl := range dls {
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
	b, _ := newBus(t, bustest.UniqueName(t, "amqp"))
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

// TestExampleFlow checks the steps of Example, which declares the group's
// queue first, and whose handler fails the first delivery.
func TestExampleFlow(t *testing.T) {
	bus, _ := newBus(t, bustest.UniqueName(t, "amqp"), amqp.WithGroup("calendar-sync"), amqp.WithRedeliveryDelay(100*time.Millisecond))
	if err := bus.Declare(synclayertest.Within(t, 30*time.Second), []string{"WorkflowDeployed"}); err != nil {
		t.Fatalf("Declare: %v", err)
	}
	ev := synclayer.Event{ID: "evt-1", Type: "WorkflowDeployed", Data: json.RawMessage(`{"id":"WF-123"}`)}
	got := bustest.ExampleFlow(t, bus, func(ctx context.Context) error { return bus.Publish(ctx, ev) }, func(n int, stop func()) error {
		if n == 1 {
			return errors.New("partner busy")
		}
		stop()
		return nil
	})
	bustest.SameEvents(t, got, ev, ev)
}

// Every option follows the option rule: a bad value is an error naming it,
// returned before the bus dials.
func TestInvalidOptions(t *testing.T) {
	bustest.InvalidOptions(t, func(o amqp.Option) error {
		_, err := amqp.NewBus(context.Background(), "amqp://guest:guest@127.0.0.1:1/", "x", o)
		return err
	}, bustest.SharedOptions(amqp.WithMaxDeliveries, amqp.WithRedeliveryDelay, amqp.WithConcurrency), map[string]amqp.Option{
		"WithRedeliveryDelay(1µs)": amqp.WithRedeliveryDelay(time.Microsecond),
	})
}

// A handler cut short by its subscriber stopping, on the event's last
// allowed delivery, gets the event handed back instead of dead-lettered.
func TestInterruptedHandlerHandsBack(t *testing.T) {
	b, _ := newBus(t, bustest.UniqueName(t, "amqp"), amqp.WithMaxDeliveries(1))
	read := func(ctx context.Context) ([]amqp.DeadLetter, error) { return b.DeadLetters(ctx, 1000) }
	bustest.InterruptedHandedBack(t, bustest.Fixture(b, read, letter, nil))
}

// A handler cut short by Close giving up waiting, on the event's last
// allowed delivery, gets the event handed back to the group instead of
// dead-lettered.
func TestCloseInterruptedHandlerHandsBack(t *testing.T) {
	name := bustest.UniqueName(t, "amqp")
	next, _ := newBus(t, name, amqp.WithMaxDeliveries(1))
	closing, _ := newBus(t, name, amqp.WithMaxDeliveries(1))
	read := func(ctx context.Context) ([]amqp.DeadLetter, error) { return next.DeadLetters(ctx, 1000) }
	bustest.CloseInterruptedHandedBack(t, closing, bustest.Fixture(next, read, letter, nil))
}
