package amqp_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	amqpgo "github.com/rabbitmq/amqp091-go"

	"github.com/hmsplatform/synclayer/bus/amqp"
	"github.com/hmsplatform/synclayer/internal/testenv"
	"github.com/hmsplatform/synclayer/synclayertest"
)

// BenchmarkThroughput publishes then consumes 10,000 small events, once
// with the raw amqp091 client (confirmed persistent publishes on one
// channel, consume with prefetch 16, ack) and once through this bus and a
// Dispatcher's Run with a no-op connector, and reports both rates and
// their ratio.
func BenchmarkThroughput(b *testing.B) {
	url := testenv.RabbitMQ.Need(b)
	conn, err := amqpgo.Dial(url)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	synclayertest.CompareThroughput(b,
		func(name string) time.Duration { return benchRaw(b, conn, name) },
		func(name string) time.Duration { return benchBus(b, url, name) })
}

func benchRaw(b *testing.B, conn *amqpgo.Connection, name string) time.Duration {
	ctx := context.Background()
	ch, err := conn.Channel()
	if err != nil {
		b.Fatal(err)
	}
	defer ch.Close()
	if err := ch.Confirm(false); err != nil {
		b.Fatal(err)
	}
	if err := ch.ExchangeDeclare(name, "topic", true, false, false, false, nil); err != nil {
		b.Fatal(err)
	}
	defer ch.ExchangeDelete(name, false, false)
	if _, err := ch.QueueDeclare(name, true, false, false, false, nil); err != nil {
		b.Fatal(err)
	}
	defer ch.QueueDelete(name, false, false, false)
	if err := ch.QueueBind(name, "Bench", name, false, nil); err != nil {
		b.Fatal(err)
	}
	body := []byte(`{"specversion":"1.0","id":"x","type":"Bench","data":{"n":1}}`)
	var mu sync.Mutex
	start := time.Now()
	synclayertest.PublishAll(b, func(i int) error {
		mu.Lock()
		conf, err := ch.PublishWithDeferredConfirmWithContext(ctx, name, "Bench", false, false, amqpgo.Publishing{DeliveryMode: amqpgo.Persistent, Body: body})
		mu.Unlock()
		if err != nil {
			return err
		}
		if !conf.Wait() {
			return fmt.Errorf("nack")
		}
		return nil
	})
	cch, err := conn.Channel()
	if err != nil {
		b.Fatal(err)
	}
	defer cch.Close()
	cch.Qos(16, 0, false)
	ds, err := cch.Consume(name, "", false, false, false, false, nil)
	if err != nil {
		b.Fatal(err)
	}
	for range synclayertest.BenchEvents {
		d := <-ds
		if err := d.Ack(false); err != nil {
			b.Fatal(err)
		}
	}
	return time.Since(start)
}

func benchBus(b *testing.B, url, name string) time.Duration {
	ctx := context.Background()
	bus, err := amqp.NewBus(ctx, url, name)
	if err != nil {
		b.Fatal(err)
	}
	defer func() {
		conn, err := amqpgo.Dial(url)
		if err == nil {
			ch, _ := conn.Channel()
			ch.QueueDelete(bus.Queue(), false, false, false)
			ch.ExchangeDelete(name, false, false)
			conn.Close()
		}
		bus.Close(context.Background())
	}()
	if err := bus.Declare(ctx, []string{"Bench"}); err != nil {
		b.Fatal(err)
	}
	return synclayertest.BenchRun(b, bus, bus)
}
