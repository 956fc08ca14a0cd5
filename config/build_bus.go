package config

import (
	"context"

	natsgo "github.com/nats-io/nats.go"
	"github.com/redis/go-redis/v9"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/bus/amqp"
	"github.com/hmsplatform/synclayer/bus/kafka"
	"github.com/hmsplatform/synclayer/bus/memory"
	"github.com/hmsplatform/synclayer/bus/nats"
	"github.com/hmsplatform/synclayer/bus/redisstream"
)

// bus builds the event bus; announcements go to it too.
func (b *builder) bus(ctx context.Context) ([]synclayer.Option, error) {
	c := b.cfg.Bus
	var bus Bus
	switch c.Kind {
	case "", "memory":
		var opts []memory.Option
		if c.Concurrency > 0 {
			opts = append(opts, memory.WithConcurrency(c.Concurrency))
		}
		if c.MaxDeliveries > 0 {
			opts = append(opts, memory.WithMaxDeliveries(c.MaxDeliveries))
		}
		if c.RedeliveryDelay > 0 {
			opts = append(opts, memory.WithRedeliveryDelay(c.RedeliveryDelay))
		}
		mb := memory.New(opts...)
		b.closeWith(mb.Close)
		bus = mb
	case "nats":
		url, err := b.value(c.URL)
		if err != nil {
			return nil, err
		}
		nc, err := natsgo.Connect(url)
		if err != nil {
			return nil, b.fail("bus.url", "nats: cannot connect: %s", redactText(err.Error(), url))
		}
		b.closeWith(func(context.Context) error { nc.Close(); return nil })
		opts := []nats.Option{nats.WithLogger(b.log)}
		if c.Prefix != "" {
			opts = append(opts, nats.WithSubjectPrefix(c.Prefix))
		}
		if c.Group != "" {
			opts = append(opts, nats.WithGroup(c.Group))
		}
		if c.Concurrency > 0 {
			opts = append(opts, nats.WithConcurrency(c.Concurrency))
		}
		if c.MaxDeliveries > 0 {
			opts = append(opts, nats.WithMaxDeliveries(c.MaxDeliveries))
		}
		if c.RedeliveryDelay > 0 {
			opts = append(opts, nats.WithRedeliveryDelay(c.RedeliveryDelay))
		}
		if c.AckWait > 0 {
			opts = append(opts, nats.WithAckWait(c.AckWait))
		}
		nb, err := nats.NewBus(ctx, nc, c.Stream, opts...)
		if err != nil {
			return nil, b.fail("bus", "%v", err)
		}
		b.closeWith(nb.Close)
		b.pingWith(func(ctx context.Context) error { return nc.FlushWithContext(ctx) })
		bus = nb
	case "redisstream":
		url, err := b.value(c.URL)
		if err != nil {
			return nil, err
		}
		ropts, err := redis.ParseURL(url)
		if err != nil {
			return nil, b.fail("bus.url", "not a redis URL")
		}
		rdb := redis.NewClient(ropts)
		b.closeWith(func(context.Context) error { return rdb.Close() })
		opts := []redisstream.Option{redisstream.WithLogger(b.log)}
		if c.Group != "" {
			opts = append(opts, redisstream.WithGroup(c.Group))
		}
		if c.Concurrency > 0 {
			opts = append(opts, redisstream.WithConcurrency(c.Concurrency))
		}
		if c.MaxDeliveries > 0 {
			opts = append(opts, redisstream.WithMaxDeliveries(c.MaxDeliveries))
		}
		if c.RedeliveryDelay > 0 {
			opts = append(opts, redisstream.WithRedeliveryDelay(c.RedeliveryDelay))
		}
		if c.ClaimIdle > 0 {
			opts = append(opts, redisstream.WithClaimIdle(c.ClaimIdle))
		}
		prefix := c.Prefix
		if prefix == "" {
			prefix = "synclayer"
		}
		rb, err := redisstream.NewBus(rdb, prefix, opts...)
		if err != nil {
			return nil, b.fail("bus", "%v", err)
		}
		b.closeWith(rb.Close)
		b.pingWith(func(ctx context.Context) error { return rdb.Ping(ctx).Err() })
		bus = rb
	case "amqp":
		url, err := b.value(c.URL)
		if err != nil {
			return nil, err
		}
		opts := []amqp.Option{amqp.WithLogger(b.log)}
		if c.Group != "" {
			opts = append(opts, amqp.WithGroup(c.Group))
		}
		if c.Concurrency > 0 {
			opts = append(opts, amqp.WithConcurrency(c.Concurrency))
		}
		if c.MaxDeliveries > 0 {
			opts = append(opts, amqp.WithMaxDeliveries(c.MaxDeliveries))
		}
		if c.RedeliveryDelay > 0 {
			opts = append(opts, amqp.WithRedeliveryDelay(c.RedeliveryDelay))
		}
		ab, err := amqp.NewBus(ctx, url, c.Exchange, opts...)
		if err != nil {
			return nil, b.fail("bus", "amqp: %s", redactText(err.Error(), url))
		}
		b.closeWith(ab.Close)
		bus = ab
	case "kafka":
		opts := []kafka.Option{kafka.WithLogger(b.log)}
		if c.Group != "" {
			opts = append(opts, kafka.WithGroup(c.Group))
		}
		if c.Concurrency > 0 {
			opts = append(opts, kafka.WithConcurrency(c.Concurrency))
		}
		if c.MaxDeliveries > 0 {
			opts = append(opts, kafka.WithMaxDeliveries(c.MaxDeliveries))
		}
		if c.RedeliveryDelay > 0 {
			opts = append(opts, kafka.WithRedeliveryDelay(c.RedeliveryDelay))
		}
		prefix := c.Prefix
		if prefix == "" {
			prefix = "synclayer"
		}
		kb, err := kafka.NewBus(c.Brokers, prefix, opts...)
		if err != nil {
			return nil, b.fail("bus", "%v", err)
		}
		b.closeWith(kb.Close)
		bus = kb
	}
	b.svc.Bus = bus
	return []synclayer.Option{synclayer.WithPublisher(bus)}, nil
}
