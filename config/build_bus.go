package config

import (
	"cmp"
	"context"
	"fmt"
	"time"

	natsgo "github.com/nats-io/nats.go"
	"github.com/redis/go-redis/v9"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/bus/amqp"
	"github.com/hmsplatform/synclayer/bus/kafka"
	"github.com/hmsplatform/synclayer/bus/memory"
	"github.com/hmsplatform/synclayer/bus/nats"
	"github.com/hmsplatform/synclayer/bus/redisstream"
	"github.com/twmb/franz-go/pkg/kgo"
)

// bus builds the event bus; announcements go to it too.
func (b *builder) bus(ctx context.Context) ([]synclayer.Option, error) {
	c := b.cfg.Bus
	var (
		url string
		err error
		bus interface {
			Bus
			Close(context.Context) error
		}
	)
	switch c.Kind {
	case "nats", "redisstream", "amqp":
		if url, err = b.value(c.URL); err != nil {
			return nil, err
		}
	}
	prefix := cmp.Or(c.Prefix, "synclayer") // of redisstream and kafka
	switch c.Kind {
	case "", "memory":
		if bus, err = memory.New(busOptions(c, nil, memory.WithConcurrency, memory.WithMaxDeliveries, memory.WithRedeliveryDelay)...); err != nil {
			return nil, fmt.Errorf("config: bus: %w", err)
		}
	case "nats":
		var nc *natsgo.Conn
		if nc, err = natsgo.Connect(url); err != nil {
			return nil, b.fail("bus.url", "nats: cannot connect: %s", redactText(err.Error(), url))
		}
		b.closeWith(func(context.Context) error { nc.Close(); return nil })
		b.pingWith(func(ctx context.Context) error { return nc.FlushWithContext(ctx) })
		opts := append(busOptions(c, nats.WithGroup, nats.WithConcurrency, nats.WithMaxDeliveries, nats.WithRedeliveryDelay),
			nats.WithLogger(b.log))
		if c.Prefix != "" {
			opts = append(opts, nats.WithSubjectPrefix(c.Prefix))
		}
		if c.AckWait > 0 {
			opts = append(opts, nats.WithAckWait(c.AckWait))
		}
		bus, err = nats.NewBus(ctx, nc, c.Stream, opts...)
	case "redisstream":
		ropts, perr := redis.ParseURL(url)
		if perr != nil {
			return nil, b.fail("bus.url", "not a redis URL")
		}
		rdb := redis.NewClient(ropts)
		b.closeWith(func(context.Context) error { return rdb.Close() })
		b.pingWith(func(ctx context.Context) error { return rdb.Ping(ctx).Err() })
		opts := append(busOptions(c, redisstream.WithGroup, redisstream.WithConcurrency, redisstream.WithMaxDeliveries,
			redisstream.WithRedeliveryDelay), redisstream.WithLogger(b.log))
		if c.ClaimIdle > 0 {
			opts = append(opts, redisstream.WithClaimIdle(c.ClaimIdle))
		}
		bus, err = redisstream.NewBus(rdb, prefix, opts...)
	case "amqp":
		opts := append(busOptions(c, amqp.WithGroup, amqp.WithConcurrency, amqp.WithMaxDeliveries, amqp.WithRedeliveryDelay),
			amqp.WithLogger(b.log))
		if bus, err = amqp.NewBus(ctx, url, c.Exchange, opts...); err != nil {
			return nil, b.fail("bus", "amqp: %s", redactText(err.Error(), url))
		}
	case "kafka":
		opts := append(busOptions(c, kafka.WithGroup, kafka.WithConcurrency, kafka.WithMaxDeliveries, kafka.WithRedeliveryDelay),
			kafka.WithLogger(b.log))
		if age := c.MetadataMaxAge; age > 0 {
			// How soon the client sees a topic created after it started.
			opts = append(opts, kafka.WithClientOptions(kgo.MetadataMaxAge(age), kgo.MetadataMinAge(min(age, 5*time.Second))))
		}
		brokers := make([]string, len(c.Brokers))
		for i, v := range c.Brokers {
			if brokers[i], err = b.broker(v); err != nil {
				return nil, err
			}
		}
		bus, err = kafka.NewBus(brokers, prefix, opts...)
	}
	if err != nil {
		return nil, b.fail("bus", "%v", err)
	}
	if bus != nil { // nil for a kind Load refuses
		b.closeWith(bus.Close)
	}
	b.svc.Bus = bus
	return []synclayer.Option{synclayer.WithPublisher(bus)}, nil
}

// busOptions are the options every bus adapter shares, made with the
// adapter's own constructors; a nil group constructor means the adapter
// has no consumer groups.
func busOptions[O any](c BusSection, group func(string) O, concurrency, maxDeliveries func(int) O, delay func(time.Duration) O) []O {
	var opts []O
	if c.Group != "" && group != nil {
		opts = append(opts, group(c.Group))
	}
	if c.Concurrency > 0 {
		opts = append(opts, concurrency(c.Concurrency))
	}
	if c.MaxDeliveries > 0 {
		opts = append(opts, maxDeliveries(c.MaxDeliveries))
	}
	if c.RedeliveryDelay > 0 {
		opts = append(opts, delay(c.RedeliveryDelay))
	}
	return opts
}
