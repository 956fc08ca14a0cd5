package nats

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/bus/internal/deliver"
)

// pullExpiry is how long one pull request waits at the server.
const pullExpiry = 5 * time.Second

// durable names the consumer of eventType for the bus's group.
func (b *Bus) durable(eventType string) string {
	if validName(eventType) && len(eventType) <= 64 {
		return b.cfg.Group + "-" + eventType
	}
	sum := sha256.Sum256([]byte(eventType))
	return b.cfg.Group + "-" + hex.EncodeToString(sum[:8])
}

// Subscribe delivers events of eventTypes to h until ctx ends, running up to
// WithConcurrency handler calls at once; see the package doc for the
// delivery semantics. The handler's context ends with ctx. Subscribe
// returns nil after ctx ends, or [Bus.Close] stops it, and every handler
// call has returned; [ErrClosed] after Close; or an error if a consumer
// cannot be created or is deleted by the broker. When one consumer of
// several fails, the others stop too (their buffered messages handed back,
// as when ctx ends) and Subscribe returns that consumer's error.
func (b *Bus) Subscribe(ctx context.Context, eventTypes []string, h func(context.Context, synclayer.Event) error) error {
	ctx, hctx, leave, err := b.subs.Start(ctx, "nats", eventTypes, h, ErrClosed)
	if err != nil {
		return err
	}
	defer leave()
	seen := map[string]bool{}
	var consumers []jetstream.Consumer
	for _, t := range eventTypes {
		if seen[t] {
			continue
		}
		seen[t] = true
		if err := checkType(t); err != nil {
			return fmt.Errorf("nats: subscribe: %w", err)
		}
		c, err := b.js.CreateOrUpdateConsumer(ctx, b.stream, jetstream.ConsumerConfig{
			Durable:       b.durable(t),
			FilterSubject: b.Subject(t),
			AckPolicy:     jetstream.AckExplicitPolicy,
			AckWait:       b.ackWait,
			MaxDeliver:    -1, // the bus counts deliveries and dead-letters itself
			DeliverPolicy: jetstream.DeliverAllPolicy,
			MaxAckPending: max(1000, 4*b.cfg.Concurrency),
		})
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("nats: subscribe: consumer for %q: %w", t, err)
		}
		consumers = append(consumers, c)
	}

	sem := make(chan struct{}, b.cfg.Concurrency)
	handlers := deliver.NewPool(b.cfg.Concurrency)
	// The first loop to fail stops the others, so that Subscribe returns
	// its error instead of consuming the other types alone.
	lctx, stop := context.WithCancel(ctx)
	defer stop()
	var loops sync.WaitGroup
	errc := make(chan error, len(consumers))
	// stopped is closed once every loop has stopped pulling: a handler
	// cut short hands its message back only then (see handle).
	stopped := make(chan struct{})
	for _, c := range consumers {
		loops.Go(func() {
			if err := b.consume(lctx, hctx, c, sem, handlers, h, stopped); err != nil {
				errc <- err
				stop()
			}
		})
	}
	loops.Wait()
	close(stopped)
	handlers.Close()
	select {
	case err := <-errc:
		return err
	default:
		return nil
	}
}

// consume runs one consumer's message loop until ctx ends; handlers run
// with hctx, and stopped is closed once every loop of the Subscribe has
// returned.
func (b *Bus) consume(ctx, hctx context.Context, c jetstream.Consumer, sem chan struct{}, handlers *deliver.Pool, h func(context.Context, synclayer.Event) error, stopped <-chan struct{}) error {
	// Short pull requests with heartbeats: a pull request lost by the
	// server (seen under load) stalls the consumer for at most pullExpiry.
	// The client buffers up to twice the handler slots (at least 64), so
	// handlers rarely wait for a pull; on the way out the buffered
	// messages are given back at once (giveBack).
	it, err := c.Messages(
		jetstream.PullMaxMessages(max(64, 2*b.cfg.Concurrency)),
		jetstream.PullExpiry(pullExpiry),
		jetstream.WithMessagesErrOnMissingHeartbeat(false),
	)
	if err != nil {
		return fmt.Errorf("nats: subscribe: %w", err)
	}
	defer it.Stop()
	for {
		msg, err := it.Next(jetstream.NextContext(ctx))
		if err != nil {
			if ctx.Err() != nil {
				b.giveBack(it)
				return nil
			}
			return fmt.Errorf("nats: subscribe: %w", err)
		}
		if ctx.Err() != nil {
			b.handBack(msg)
			b.giveBack(it)
			return nil
		}
		select {
		case sem <- struct{}{}:
		default:
			// Every slot is busy: keep this message while it waits.
			stopBeat := b.heartbeat(msg)
			ok := deliver.Acquire(ctx, sem)
			stopBeat()
			if !ok {
				b.handBack(msg)
				b.giveBack(it)
				return nil
			}
		}
		handlers.Go(func() {
			defer func() { <-sem }()
			b.handle(hctx, msg, h, stopped)
		})
	}
}

// giveBack stops the iterator and returns the messages it had buffered to
// the broker at once, so another subscriber can take them.
func (b *Bus) giveBack(it jetstream.MessagesContext) {
	it.Drain()
	for {
		msg, err := it.Next(jetstream.NextMaxWait(time.Second))
		if err != nil {
			return
		}
		b.handBack(msg)
	}
}

// handBack returns a message that no handler saw to the broker at once,
// recording the delivery as a deferral so that it does not count.
func (b *Bus) handBack(msg jetstream.Msg) {
	if md, err := msg.Metadata(); err == nil {
		n := 0
		if md.NumDelivered > 1 {
			n = b.deferrals(context.Background(), md.Sequence.Stream)
		}
		b.deferral(md.Sequence.Stream, n+1)
	}
	b.nak(msg, 0)
}

func (b *Bus) nak(msg jetstream.Msg, delay time.Duration) {
	var err error
	if delay > 0 {
		err = msg.NakWithDelay(delay)
	} else {
		err = msg.Nak()
	}
	if err != nil && b.cfg.Logger != nil {
		b.cfg.Logger.Warn("nats: negative acknowledgement failed; the broker redelivers after the ack wait", "subject", msg.Subject(), "err", err)
	}
}

// heartbeat tells the broker, while a handler runs, that the message is in
// progress, so it is not redelivered after the ack wait.
func (b *Bus) heartbeat(msg jetstream.Msg) (stop func()) {
	every := b.ackWait / 3
	var (
		mu      sync.Mutex
		stopped bool
		t       *time.Timer
	)
	mu.Lock()
	t = time.AfterFunc(every, func() {
		_ = msg.InProgress()
		mu.Lock()
		if !stopped {
			t.Reset(every)
		}
		mu.Unlock()
	})
	mu.Unlock()
	return func() {
		mu.Lock()
		stopped = true
		t.Stop()
		mu.Unlock()
	}
}
