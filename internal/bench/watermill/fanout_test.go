package watermill_test

import (
	"context"
	"io"
	"log/slog"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/pubsub/gochannel"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/bus/memory"
	"github.com/hmsplatform/synclayer/synclayertest"
)

const (
	fanEvents   = 20_000
	fanHandlers = 3
	fanType     = "Bench"
	fanTimeout  = 2 * time.Minute // a stuck run fails instead of hanging
)

var (
	fanIDs     = ids(fanEvents)
	fanPayload = []byte(`{"workflowId":"WF-1","name":"bench"}`)
	// discard is the logging both libraries get: built, then dropped.
	discard = slog.New(slog.NewTextHandler(io.Discard, nil))
)

func ids(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = "evt-" + strconv.Itoa(i)
	}
	return out
}

// a variant runs one iteration's work and returns the time from the first
// publish to the last acknowledgement.
type variant struct {
	name string
	run  func(tb testing.TB) time.Duration
}

var rotation atomic.Int64

// BenchmarkFanOut: see the package doc.
func BenchmarkFanOut(b *testing.B) {
	prev := slog.Default()
	slog.SetDefault(discard)
	defer slog.SetDefault(prev)

	variants := []variant{
		{"watermill", runWatermill},
		{"default", func(tb testing.TB) time.Duration { return runSynclayer(tb) }},
		{"tuned", func(tb testing.TB) time.Duration {
			return runSynclayer(tb, synclayer.WithObserver(synclayer.NoObserver), synclayer.WithDeliveryLog(synclayer.NoDeliveryLog))
		}},
	}
	times := make([]time.Duration, len(variants))
	for b.Loop() {
		first := int(rotation.Add(1))
		for k := range variants {
			i := (first + k) % len(variants)
			times[i] += variants[i].run(b)
		}
	}
	rate := func(i int) float64 { return float64(b.N*fanEvents) / times[i].Seconds() }
	for i, v := range variants {
		b.ReportMetric(rate(i), v.name+"-events/s")
	}
	b.ReportMetric(rate(1)/rate(0), "default/watermill")
	b.ReportMetric(rate(2)/rate(0), "tuned/watermill")
	b.ReportMetric(0, "ns/op") // the three variants share each op; see the rates
}

// runWatermill: a Router with three handlers on one GoChannel topic.
func runWatermill(tb testing.TB) time.Duration {
	logger := watermill.NewSlogLogger(discard)
	pubsub := gochannel.NewGoChannel(gochannel.Config{}, logger)
	router, err := message.NewRouter(message.RouterConfig{}, logger)
	if err != nil {
		tb.Fatal(err)
	}
	var acked atomic.Int64
	done := make(chan struct{})
	for h := range fanHandlers {
		router.AddConsumerHandler("noop-"+strconv.Itoa(h), fanType, pubsub, func(msg *message.Message) error {
			msg.Ack() // the router would ack on return; acking here makes the count exact
			if acked.Add(1) == fanHandlers*fanEvents {
				close(done)
			}
			return nil
		})
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	runErr := make(chan error, 1)
	go func() { runErr <- router.Run(ctx) }()
	<-router.Running()

	start := time.Now()
	for _, id := range fanIDs {
		if err := pubsub.Publish(fanType, message.NewMessage(id, fanPayload)); err != nil {
			tb.Fatal(err)
		}
	}
	wait(tb, done, acked.Load, fanHandlers*fanEvents)
	elapsed := time.Since(start)

	if err := router.Close(); err != nil {
		tb.Fatal(err)
	}
	if err := <-runErr; err != nil {
		tb.Fatal(err)
	}
	if err := pubsub.Close(); err != nil {
		tb.Fatal(err)
	}
	return elapsed
}

// runSynclayer: bus/memory and Run with three no-op connectors.
func runSynclayer(tb testing.TB, opts ...synclayer.Option) time.Duration {
	reg := new(synclayer.Registry)
	mapper := synclayer.MapperFunc(func(_ context.Context, ev synclayer.Event) (synclayer.Record, error) {
		return synclayer.Record{Key: ev.Subject}, nil
	})
	noop := synclayer.ConnectorFunc(func(context.Context, synclayer.Record) error { return nil })
	for h := range fanHandlers {
		if err := reg.Register("noop-"+strconv.Itoa(h), noop, synclayer.Route(fanType, mapper)); err != nil {
			tb.Fatal(err)
		}
	}
	d := synclayertest.NewDispatcher(tb, reg, opts...)
	bus, err := memory.New()
	if err != nil {
		tb.Fatal(err)
	}
	var acked atomic.Int64
	done, ready := make(chan struct{}), make(chan struct{})
	sub := countingSub{bus, func(ev synclayer.Event) {
		if ev.ID == "warm-up" {
			close(ready)
		} else if acked.Add(1) == fanEvents {
			close(done)
		}
	}}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	runErr := make(chan error, 1)
	go func() { runErr <- d.Run(ctx, sub) }()
	// As the router's Running: the clock starts once Run has subscribed,
	// which the first event handled proves.
	if err := bus.Publish(ctx, synclayer.Event{ID: "warm-up", Type: fanType, Subject: "warm-up", Data: fanPayload}); err != nil {
		tb.Fatal(err)
	}
	wait(tb, ready, acked.Load, 0)

	start := time.Now()
	for _, id := range fanIDs {
		if err := bus.Publish(ctx, synclayer.Event{ID: id, Type: fanType, Subject: id, Data: fanPayload}); err != nil {
			tb.Fatal(err)
		}
	}
	wait(tb, done, acked.Load, fanEvents)
	elapsed := time.Since(start)

	cancel()
	if err := <-runErr; err != nil {
		tb.Fatal(err)
	}
	return elapsed
}

// countingSub calls acked for every event whose handler returned nil,
// which the bus then acknowledges.
type countingSub struct {
	synclayer.Subscriber
	acked func(synclayer.Event)
}

func (s countingSub) Subscribe(ctx context.Context, types []string, h func(context.Context, synclayer.Event) error) error {
	return s.Subscriber.Subscribe(ctx, types, func(ctx context.Context, ev synclayer.Event) error {
		err := h(ctx, ev)
		if err == nil {
			s.acked(ev)
		}
		return err
	})
}

// wait waits for done, or fails tb after fanTimeout.
func wait(tb testing.TB, done <-chan struct{}, count func() int64, want int) {
	tb.Helper()
	t := time.NewTimer(fanTimeout)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		tb.Fatalf("%d of %d acknowledgements after %v", count(), want, fanTimeout)
	}
}
