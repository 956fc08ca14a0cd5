package bench_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/bus/nats"
	"github.com/hmsplatform/synclayer/internal/testenv"
)

// natsBroker is NATS JetStream: one stream per run, the bus's durable
// consumer for the Dispatcher and a "raw" one for the raw client.
var natsBroker = broker{name: "nats", open: openNATS}

func openNATS(tb testing.TB, run string) *fixture {
	url := testenv.NATS.Need(tb)
	ctx := context.Background()
	connect := func() *natsgo.Conn {
		nc, err := natsgo.Connect(url)
		if err != nil {
			testenv.Unavailable(tb, "NATS at "+url, err)
		}
		tb.Cleanup(nc.Close)
		return nc
	}
	busConn, rawConn := connect(), connect()
	bus, err := nats.NewBus(ctx, busConn, run, nats.WithConcurrency(benchHandlers))
	if err != nil {
		tb.Fatal(err)
	}
	js, err := jetstream.New(rawConn)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := js.DeleteStream(context.Background(), run); err != nil {
			tb.Errorf("delete stream %s: %v", run, err)
		}
	})
	rawAnnounced := run + ".raw.announced"
	return &fixture{
		bus: bus,
		raw: func(tb testing.TB, n int) time.Duration { return rawNATS(tb, js, bus, rawAnnounced, n) },
		settled: func(tb testing.TB, n int) {
			natsSettled(tb, js, run, "synclayer-"+benchType, bus.Subject(synclayer.SyncCompleted), n)
		},
		rawSettled: func(tb testing.TB, n int) { natsSettled(tb, js, run, "raw", rawAnnounced, n) },
	}
}

// rawNATS consumes the run's events with the JetStream client as the
// package doc says, and returns the time it took.
func rawNATS(tb testing.TB, js jetstream.JetStream, bus *nats.Bus, announced string, n int) time.Duration {
	ctx := context.Background()
	start := time.Now()
	c, err := js.CreateOrUpdateConsumer(ctx, bus.Stream(), jetstream.ConsumerConfig{
		Durable:       "raw",
		FilterSubject: bus.Subject(benchType),
		AckPolicy:     jetstream.AckExplicitPolicy,
		MaxAckPending: 1000,
	})
	if err != nil {
		tb.Fatal(err)
	}
	msgs := make([]jetstream.Msg, 0, benchBatch)
	futures := make([]jetstream.PubAckFuture, 0, benchBatch)
	for got := 0; got < n; {
		batch, err := c.Fetch(benchBatch, jetstream.FetchMaxWait(5*time.Second))
		if err != nil {
			tb.Fatal(err)
		}
		msgs = msgs[:0]
		for m := range batch.Messages() {
			msgs = append(msgs, m)
		}
		if err := batch.Error(); err != nil {
			tb.Fatalf("raw fetch: %v", err)
		}
		futures = futures[:0]
		for _, m := range msgs {
			id, key := rawKey(tb, m.Data())
			aid, body := rawAnnouncement(tb, id, key)
			f, err := js.PublishAsync(announced, body, jetstream.WithMsgID(aid))
			if err != nil {
				tb.Fatal(err)
			}
			futures = append(futures, f)
		}
		for _, f := range futures {
			select {
			case <-f.Ok():
			case err := <-f.Err():
				tb.Fatalf("raw announce: %v", err)
			}
		}
		for _, m := range msgs {
			if err := m.Ack(); err != nil {
				tb.Fatal(err)
			}
		}
		got += len(msgs)
	}
	return time.Since(start)
}

// natsSettled waits until the consumer has nothing pending or
// unacknowledged, and checks that the stream holds n messages on the
// announcement subject.
func natsSettled(tb testing.TB, js jetstream.JetStream, stream, consumer, announced string, n int) {
	tb.Helper()
	ctx := context.Background()
	waitFor(tb, "NATS consumer "+consumer, func() (bool, string) {
		c, err := js.Consumer(ctx, stream, consumer)
		if err != nil {
			return false, err.Error()
		}
		ci, err := c.Info(ctx)
		if err != nil {
			return false, err.Error()
		}
		return ci.NumAckPending == 0 && ci.NumPending == 0, fmt.Sprintf("%d pending, %d unacknowledged", ci.NumPending, ci.NumAckPending)
	})
	s, err := js.Stream(ctx, stream)
	if err != nil {
		tb.Fatal(err)
	}
	info, err := s.Info(ctx, jetstream.WithSubjectFilter(announced))
	if err != nil {
		tb.Fatal(err)
	}
	if got := info.State.Subjects[announced]; got != uint64(n) {
		tb.Fatalf("NATS: %d announcements on %s, want %d", got, announced, n)
	}
}
