package nats_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/hmsplatform/synclayer/bus/nats"
	"github.com/hmsplatform/synclayer/synclayertest"
)

// BenchmarkThroughput publishes then consumes 10,000 small events, once
// with the raw JetStream client (publish, pull, ack) and once through this
// bus and a Dispatcher's Run with a no-op connector, and reports both rates
// and their ratio.
func BenchmarkThroughput(b *testing.B) {
	nc := connect(b)
	js, err := jetstream.New(nc)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	synclayertest.CompareThroughput(b,
		func(name string) time.Duration { return benchRaw(b, nc, js, name) },
		func(name string) time.Duration { return benchBus(b, ctx, nc, name) })
}

func benchRaw(b *testing.B, nc *natsgo.Conn, js jetstream.JetStream, stream string) time.Duration {
	ctx := context.Background()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: stream, Subjects: []string{stream + ".>"}}); err != nil {
		b.Fatal(err)
	}
	defer js.DeleteStream(ctx, stream)
	body := []byte(`{"specversion":"1.0","id":"x","type":"Bench","data":{"n":1}}`)
	start := time.Now()
	synclayertest.PublishAll(b, func(i int) error {
		_, err := js.Publish(ctx, stream+".event.Bench", body, jetstream.WithMsgID(fmt.Sprint("raw-", i)))
		return err
	})
	c, err := js.CreateOrUpdateConsumer(ctx, stream, jetstream.ConsumerConfig{Durable: "raw", AckPolicy: jetstream.AckExplicitPolicy})
	if err != nil {
		b.Fatal(err)
	}
	// The same pull settings as the bus uses.
	it, err := c.Messages(jetstream.PullMaxMessages(64), jetstream.PullExpiry(5*time.Second), jetstream.WithMessagesErrOnMissingHeartbeat(false))
	if err != nil {
		b.Fatal(err)
	}
	defer it.Stop()
	for range synclayertest.BenchEvents {
		msg, err := it.Next()
		if err != nil {
			b.Fatal(err)
		}
		if err := msg.Ack(); err != nil {
			b.Fatal(err)
		}
	}
	return time.Since(start)
}

func benchBus(b *testing.B, ctx context.Context, nc *natsgo.Conn, stream string) time.Duration {
	bus, err := nats.NewBus(ctx, nc, stream)
	if err != nil {
		b.Fatal(err)
	}
	defer func() {
		js, _ := jetstream.New(nc)
		js.DeleteStream(context.Background(), stream)
	}()
	return synclayertest.BenchRun(b, bus, bus)
}
