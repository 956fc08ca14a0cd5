package kafka_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/goleak"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/bus/internal/bustest"
	"github.com/hmsplatform/synclayer/bus/kafka"
	"github.com/hmsplatform/synclayer/synclayertest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// cluster starts an in-process Kafka cluster, closed at cleanup.
func cluster(t testing.TB) []string {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.AllowAutoTopicCreation(), kfake.DefaultNumPartitions(4))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c.ListenAddrs()
}

// fast makes clients notice new topics and rebalances quickly.
var fast = kafka.WithClientOptions(
	kgo.MetadataMinAge(50*time.Millisecond),
	kgo.MetadataMaxAge(500*time.Millisecond),
	kgo.HeartbeatInterval(100*time.Millisecond),
)

func newBus(t testing.TB, seeds []string, prefix string, opts ...kafka.Option) *kafka.Bus {
	t.Helper()
	b, err := kafka.NewBus(seeds, prefix, append([]kafka.Option{fast}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close(context.Background()) })
	return b
}

// The bus on an in-process cluster. The reconnection rule is skipped: kfake
// offers no way to cut a client's connection.
func TestBus(t *testing.T) {
	synclayertest.TestBus(t, func(t *testing.T, cfg synclayertest.BusConfig) synclayertest.BusFixture {
		b := newBus(t, cluster(t), cfg.Name,
			kafka.WithMaxDeliveries(cfg.MaxDeliveries),
			kafka.WithRedeliveryDelay(cfg.RedeliveryDelay))
		return bustest.Fixture(b, b.DeadLetters, letter, nil)
	})
}

// letter says what a dead letter holds, for bustest.Fixture.
func letter(dl kafka.DeadLetter) (synclayer.Event, string, int) {
	return dl.Event, dl.Reason, dl.Deliveries
}

// Records that are not valid events are dead-lettered at once with the
// reason, and do not hold up the valid events behind them. Binary-mode
// records (ce_ headers) are accepted. Events of one subject keep their
// order.
func TestInvalidBinaryAndOrder(t *testing.T) {
	seeds := cluster(t)
	b := newBus(t, seeds, "orders")
	ctx := synclayertest.Within(t, 30*time.Second)
	raw, err := kgo.NewClient(kgo.SeedBrokers(seeds...), kgo.AllowAutoTopicCreation())
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	produce := func(r *kgo.Record) {
		t.Helper()
		r.Topic = b.Topic("Order")
		r.Key = []byte("same-key")
		if err := raw.ProduceSync(ctx, r).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	produce(&kgo.Record{Value: []byte(`{"specversion":"1.0","type":"Order"`)})  // bad JSON
	produce(&kgo.Record{Value: []byte(`{"specversion":"1.0","type":"Order"}`)}) // no id
	hdr, body := bustest.Binary(t)
	rec := &kgo.Record{Value: body}
	for k, v := range hdr {
		rec.Headers = append(rec.Headers, kgo.RecordHeader{Key: strings.Replace(k, "ce-", "ce_", 1), Value: []byte(v)})
	}
	produce(rec)
	for i := range 5 {
		if err := b.Publish(ctx, synclayer.Event{ID: fmt.Sprint("ok-", i), Type: "Order", Subject: "same-key"}); err != nil {
			t.Fatal(err)
		}
	}

	h, got := bustest.Collector()
	stop := bustest.Subscribe(t, b, []string{"Order"}, h)
	ids := bustest.Received(ctx, t, got, 6)
	if want := "bin-1,ok-0,ok-1,ok-2,ok-3,ok-4"; strings.Join(ids, ",") != want {
		t.Errorf("delivered %v, want %s in this order (one key, one partition)", ids, want)
	}
	var dls []kafka.DeadLetter
	for len(dls) < 2 && ctx.Err() == nil {
		if dls, err = b.DeadLetters(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if err := stop(); err != nil {
		t.Errorf("Subscribe: %v", err)
	}
	dls = bustest.Reasons(t, dls, func(dl kafka.DeadLetter) string { return dl.Reason }, "body is not a JSON object", "no id")
	for i, dl := range dls {
		if dl.Deliveries != 1 || dl.Topic != b.Topic("Order") || string(dl.Key) != "same-key" {
			t.Errorf("dead letter %d = %+v", i, dl)
		}
	}
}

func TestValidation(t *testing.T) {
	if _, err := kafka.NewBus(nil, "x"); err == nil {
		t.Error("NewBus without seeds succeeded")
	}
	for _, p := range []string{"", "a b", "a/b"} {
		if _, err := kafka.NewBus([]string{"127.0.0.1:1"}, p); err == nil {
			t.Errorf("NewBus(%q) succeeded", p)
		}
	}
	b := newBus(t, []string{"127.0.0.1:1"}, "x")
	err := b.Publish(context.Background(), synclayer.Event{ID: "a", Type: "has space"})
	if err == nil || !synclayer.IsPermanent(err) || !strings.HasPrefix(err.Error(), "kafka: ") {
		t.Errorf("Publish with a bad type = %v, want a permanent kafka: error", err)
	}
}

// Every option follows the option rule: a bad value is an error naming it.
func TestInvalidOptions(t *testing.T) {
	bustest.InvalidOptions(t, func(o kafka.Option) error {
		_, err := kafka.NewBus([]string{"127.0.0.1:1"}, "x", o)
		return err
	}, bustest.SharedOptions(kafka.WithMaxDeliveries, kafka.WithRedeliveryDelay, kafka.WithConcurrency), map[string]kafka.Option{
		"WithGroup(a b)": kafka.WithGroup("a b"),
	})
}

// A handler cut short by its subscriber stopping, on the event's last
// allowed delivery, gets the event handed back instead of dead-lettered.
func TestInterruptedHandlerHandsBack(t *testing.T) {
	b := newBus(t, cluster(t), bustest.UniqueName(t, "kafka"), kafka.WithMaxDeliveries(1))
	bustest.InterruptedHandedBack(t, bustest.Fixture(b, b.DeadLetters, letter, nil))
}

// A handler cut short by Close giving up waiting, on the event's last
// allowed delivery, gets the event handed back to the group instead of
// dead-lettered.
func TestCloseInterruptedHandlerHandsBack(t *testing.T) {
	seeds, name := cluster(t), bustest.UniqueName(t, "kafka")
	next := newBus(t, seeds, name, kafka.WithMaxDeliveries(1))
	closing := newBus(t, seeds, name, kafka.WithMaxDeliveries(1))
	bustest.CloseInterruptedHandedBack(t, closing, bustest.Fixture(next, next.DeadLetters, letter, nil))
}
