package nats_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/bus/nats"
)

const (
	benchEvents     = 10_000
	benchPublishers = 16
)

// publishAll calls publish for benchEvents events from benchPublishers
// goroutines.
func publishAll(b *testing.B, publish func(i int) error) {
	var wg sync.WaitGroup
	var failed atomic.Value
	for p := range benchPublishers {
		wg.Go(func() {
			for i := p; i < benchEvents; i += benchPublishers {
				if err := publish(i); err != nil {
					failed.Store(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err, _ := failed.Load().(error); err != nil {
		b.Fatal(err)
	}
}

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
	var rawTime, busTime time.Duration
	for n := 0; b.Loop(); n++ {
		rawTime += benchRaw(b, nc, js, fmt.Sprintf("bench-raw-%d-%d", time.Now().UnixNano(), n))
		busTime += benchBus(b, ctx, nc, fmt.Sprintf("bench-bus-%d-%d", time.Now().UnixNano(), n))
	}
	runs := float64(b.N)
	rawRate := runs * benchEvents / rawTime.Seconds()
	busRate := runs * benchEvents / busTime.Seconds()
	b.ReportMetric(rawRate, "raw-events/s")
	b.ReportMetric(busRate, "bus-events/s")
	b.ReportMetric(busRate/rawRate, "ratio")
}

func benchRaw(b *testing.B, nc *natsgo.Conn, js jetstream.JetStream, stream string) time.Duration {
	ctx := context.Background()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: stream, Subjects: []string{stream + ".>"}}); err != nil {
		b.Fatal(err)
	}
	defer js.DeleteStream(ctx, stream)
	body := []byte(`{"specversion":"1.0","id":"x","type":"Bench","data":{"n":1}}`)
	start := time.Now()
	publishAll(b, func(i int) error {
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
	for range benchEvents {
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
	var handled atomic.Int64
	done := make(chan struct{})
	reg := synclayer.NewRegistry()
	noop := synclayer.ConnectorFunc(func(context.Context, synclayer.Record) error {
		if handled.Add(1) == benchEvents {
			close(done)
		}
		return nil
	})
	mapper := synclayer.MapperFunc(func(_ context.Context, ev synclayer.Event) (synclayer.Record, error) {
		return synclayer.Record{Key: ev.ID}, nil
	})
	if err := reg.Register("noop", noop, synclayer.Route("Bench", mapper)); err != nil {
		b.Fatal(err)
	}
	d := synclayer.NewDispatcher(reg, synclayer.WithObserver(nil))

	start := time.Now()
	publishAll(b, func(i int) error {
		return bus.Publish(ctx, synclayer.Event{ID: fmt.Sprint("bus-", i), Type: "Bench", Data: []byte(`{"n":1}`)})
	})
	runCtx, cancel := context.WithCancel(ctx)
	runErr := make(chan error, 1)
	go func() { runErr <- d.Run(runCtx, bus) }()
	select {
	case <-done:
	case err := <-runErr:
		b.Fatalf("Run returned before every event was handled (%d of %d): %v", handled.Load(), benchEvents, err)
	}
	elapsed := time.Since(start)
	cancel()
	if err := <-runErr; err != nil {
		b.Fatal(err)
	}
	return elapsed
}
