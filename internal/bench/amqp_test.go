package bench_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	amqpgo "github.com/rabbitmq/amqp091-go"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/bus/amqp"
	"github.com/hmsplatform/synclayer/internal/testenv"
)

// amqpBroker is RabbitMQ: one exchange per run; the bus's group queue for
// the Dispatcher and a raw queue, both bound to the events; a queue for
// each side's announcements, so that they are stored as on the other
// brokers.
var amqpBroker = broker{name: "amqp", open: openAMQP}

const rawAnnouncedKey = "RawAnnounced"

func openAMQP(tb testing.TB, run string) *fixture {
	url := testenv.RabbitMQ.Need(tb)
	ctx := context.Background()
	conn, err := amqpgo.Dial(url)
	if err != nil {
		testenv.Unavailable(tb, "RabbitMQ", err)
	}
	tb.Cleanup(func() { conn.Close() })
	bus, err := amqp.NewBus(ctx, url, run, amqp.WithConcurrency(benchHandlers))
	if err != nil {
		tb.Fatal(err)
	}
	rawQ, announcedQ, rawAnnouncedQ := run+".raw", run+".announced", run+".raw-announced"
	tb.Cleanup(func() {
		_ = bus.Close(context.Background())
		ch, err := conn.Channel()
		if err != nil {
			tb.Errorf("cleanup %s: %v", run, err)
			return
		}
		defer ch.Close()
		qs := append([]string{bus.Queue(), bus.DeadLetterQueue(), rawQ, announcedQ, rawAnnouncedQ}, bus.RetryQueues()...)
		for _, q := range qs {
			if _, err := ch.QueueDelete(q, false, false, false); err != nil {
				tb.Errorf("delete queue %s: %v", q, err)
				return
			}
		}
		if err := ch.ExchangeDelete(run, false, false); err != nil {
			tb.Errorf("delete exchange %s: %v", run, err)
		}
	})
	if err := bus.Declare(ctx, []string{benchType}); err != nil {
		tb.Fatal(err)
	}
	ch := channel(tb, conn)
	defer ch.Close()
	for _, b := range []struct{ queue, key string }{{rawQ, benchType}, {announcedQ, synclayer.SyncCompleted}, {rawAnnouncedQ, rawAnnouncedKey}} {
		if _, err := ch.QueueDeclare(b.queue, true, false, false, false, nil); err != nil {
			tb.Fatal(err)
		}
		if err := ch.QueueBind(b.queue, b.key, run, false, nil); err != nil {
			tb.Fatal(err)
		}
	}
	return &fixture{
		bus:        bus,
		raw:        func(tb testing.TB, n int) time.Duration { return rawAMQP(tb, conn, run, rawQ, n) },
		settled:    func(tb testing.TB, n int) { amqpSettled(tb, conn, bus.Queue(), announcedQ, n) },
		rawSettled: func(tb testing.TB, n int) { amqpSettled(tb, conn, rawQ, rawAnnouncedQ, n) },
	}
}

// rawAMQP consumes the run's events with amqp091 as the package doc says,
// and returns the time it took.
func rawAMQP(tb testing.TB, conn *amqpgo.Connection, exchange, queue string, n int) time.Duration {
	ctx := context.Background()
	start := time.Now()
	pub := channel(tb, conn)
	defer pub.Close()
	if err := pub.Confirm(false); err != nil {
		tb.Fatal(err)
	}
	sub := channel(tb, conn)
	defer sub.Close()
	if err := sub.Qos(benchBatch, 0, false); err != nil {
		tb.Fatal(err)
	}
	deliveries, err := sub.Consume(queue, "raw", false, false, false, false, nil)
	if err != nil {
		tb.Fatal(err)
	}
	// The consumer publishes each event's announcement as it arrives; the
	// acker acknowledges each event, in order, once its announcement is
	// confirmed. Prefetch bounds what is in flight.
	type pending struct {
		d    amqpgo.Delivery
		conf *amqpgo.DeferredConfirmation
	}
	inflight := make(chan pending, benchBatch)
	ackErr := make(chan error, 1)
	go func() {
		var err error
		for p := range inflight {
			if err != nil {
				continue
			}
			if !p.conf.Wait() {
				err = fmt.Errorf("raw AMQP: announcement of %s not confirmed", p.d.MessageId)
			} else {
				err = p.d.Ack(false)
			}
		}
		ackErr <- err
	}()
	timeout := time.NewTimer(runTimeout)
	defer timeout.Stop()
	for range n {
		var d amqpgo.Delivery
		select {
		case d = <-deliveries:
		case <-timeout.C:
			close(inflight)
			<-ackErr
			tb.Fatal("raw AMQP: deliveries stopped")
		}
		id, key := rawKey(tb, d.Body)
		aid, body := rawAnnouncement(tb, id, key)
		conf, err := pub.PublishWithDeferredConfirmWithContext(ctx, exchange, rawAnnouncedKey, false, false, amqpgo.Publishing{
			ContentType: "application/cloudevents+json", DeliveryMode: amqpgo.Persistent, MessageId: aid, Body: body,
		})
		if err != nil {
			close(inflight)
			<-ackErr
			tb.Fatal(err)
		}
		inflight <- pending{d, conf}
	}
	close(inflight)
	if err := <-ackErr; err != nil {
		tb.Fatal(err)
	}
	return time.Since(start)
}

// amqpSettled waits until the queue has no message and no consumer (so
// nothing is left unacknowledged), and until the announcement queue
// holds n messages.
func amqpSettled(tb testing.TB, conn *amqpgo.Connection, queue, announced string, n int) {
	tb.Helper()
	ch := channel(tb, conn)
	defer ch.Close()
	count := func(q string) (amqpgo.Queue, error) {
		return ch.QueueDeclarePassive(q, true, false, false, false, nil)
	}
	waitFor(tb, "RabbitMQ queue "+queue, func() (bool, string) {
		q, err := count(queue)
		if err != nil {
			tb.Fatal(err)
		}
		return q.Messages == 0 && q.Consumers == 0, fmt.Sprintf("%d messages, %d consumers", q.Messages, q.Consumers)
	})
	waitFor(tb, "RabbitMQ queue "+announced, func() (bool, string) {
		q, err := count(announced)
		if err != nil {
			tb.Fatal(err)
		}
		return q.Messages == n, fmt.Sprintf("%d announcements, want %d", q.Messages, n)
	})
}

// channel opens a channel on conn, failing the test if it cannot; the
// caller closes it.
func channel(tb testing.TB, conn *amqpgo.Connection) *amqpgo.Channel {
	tb.Helper()
	ch, err := conn.Channel()
	if err != nil {
		tb.Fatal(err)
	}
	return ch
}
