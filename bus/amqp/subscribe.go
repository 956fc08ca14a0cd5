package amqp

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/bus/internal/deliver"
)

// Subscribe delivers events of eventTypes to h until ctx ends, running up to
// WithConcurrency handler calls at once; see the package doc for the
// delivery semantics. The handler's context ends with ctx. Subscribe
// returns nil after ctx ends, or [Bus.Close] stops it, and every handler
// call has returned; when the connection drops it reconnects, and it
// returns an error only if that keeps failing for a minute, or
// [ErrClosed] when the bus was closed before.
func (b *Bus) Subscribe(ctx context.Context, eventTypes []string, h func(context.Context, synclayer.Event) error) error {
	ctx, hctx, leave, err := b.subs.Start(ctx, "amqp", eventTypes, h, ErrClosed)
	if err != nil {
		return err
	}
	defer leave()
	for _, t := range eventTypes {
		if t == "" || strings.ContainsAny(t, "*#") {
			return fmt.Errorf("amqp: subscribe: event type %q cannot be a routing key", t)
		}
	}
	var handlers sync.WaitGroup
	defer handlers.Wait()
	sem := make(chan struct{}, b.cfg.Concurrency)
	var firstFail time.Time
	wait := 50 * time.Millisecond
	for ctx.Err() == nil {
		err := b.consume(ctx, hctx, eventTypes, h, sem, &handlers)
		if err == nil || ctx.Err() != nil {
			firstFail = time.Time{}
			wait = 50 * time.Millisecond
			continue
		}
		if errors.Is(err, ErrClosed) {
			return err
		}
		if firstFail.IsZero() {
			firstFail = time.Now()
		} else if time.Since(firstFail) > time.Minute {
			return fmt.Errorf("amqp: subscribe: failing since %v: %w", firstFail.Format(time.RFC3339), err)
		}
		if b.cfg.Logger != nil {
			b.cfg.Logger.Warn("amqp: subscriber lost its channel; reconnecting", "err", err)
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
		}
		wait = min(2*wait, 2*time.Second)
	}
	return nil
}

// consume opens a channel, declares the group's queue and bindings, and
// delivers messages until ctx ends (nil) or the channel dies (an error).
// Handlers run with hctx.
func (b *Bus) consume(ctx, hctx context.Context, types []string, h func(context.Context, synclayer.Event) error, sem chan struct{}, handlers *sync.WaitGroup) error {
	ch, err := b.channel()
	if err != nil {
		return err
	}
	closed := ch.NotifyClose(make(chan *amqp.Error, 1))
	defer ch.Close()
	// The handlers of this channel's deliveries, waited for before the
	// channel is closed on the way out.
	var mine sync.WaitGroup
	if err := ch.Qos(b.cfg.Concurrency, 0, false); err != nil {
		return fmt.Errorf("amqp: qos: %w", err)
	}
	if err := b.declareGroup(ch, types); err != nil {
		return err
	}
	q := b.Queue()
	tag := "synclayer-" + randomHex(6)
	deliveries, err := ch.Consume(q, tag, false, false, false, false, nil)
	if err != nil {
		return fmt.Errorf("amqp: consume %q: %w", q, err)
	}
	stopping := false
	for {
		select {
		case <-ctx.Done():
			if !stopping {
				stopping = true
				// Stop the flow; what is already on its way is requeued
				// below as it arrives, until the deliveries channel closes.
				if err := ch.Cancel(tag, false); err != nil {
					mine.Wait()
					return nil
				}
			}
		case d, ok := <-deliveries:
			if !ok {
				if stopping {
					mine.Wait()
					return nil
				}
				return fmt.Errorf("amqp: consumer channel closed: %v", <-closed)
			}
			if !deliver.Acquire(ctx, sem) {
				d.Nack(false, true)
				continue
			}
			handlers.Add(1)
			mine.Add(1)
			go func() {
				defer func() { <-sem; mine.Done(); handlers.Done() }()
				b.handle(hctx, d, h)
			}()
		}
	}
}

func randomHex(n int) string {
	p := make([]byte, n)
	rand.Read(p)
	return hex.EncodeToString(p)
}
