package amqp

import (
	"context"
	"fmt"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/bus/internal/deliver"
)

// deadLetter publishes d to the dead-letter queue with the reason, then
// acknowledges it.
func (b *Bus) deadLetter(ctx context.Context, d amqp.Delivery, reason error, deliveries int) {
	msg := copyOf(d, deliveries)
	msg.Headers[HeaderReason] = deliver.Reason(reason)
	if err := b.send(ctx, "", b.DeadLetterQueue(), msg); err != nil {
		if b.cfg.Logger != nil {
			b.cfg.Logger.Error("amqp: dead letter not published; requeued", "message", d.MessageId, "reason", reason, "err", fmt.Errorf("%w: %w", ErrDeadLetter, err))
		}
		d.Nack(false, true)
		return
	}
	d.Ack(false)
	if b.cfg.Logger != nil {
		b.cfg.Logger.Warn("amqp: message dead-lettered", "message", d.MessageId, "deliveries", deliveries, "reason", reason)
	}
}

// DeadLetter is a message the bus gave up on, as [Bus.DeadLetters] reads
// it back.
type DeadLetter struct {
	// Event is the decoded event; zero when the message was not a valid
	// event (Body then holds it).
	Event      synclayer.Event
	Body       []byte
	Headers    amqp.Table
	Reason     string
	Deliveries int
}

// DeadLetters reads up to limit messages of the dead-letter queue without
// removing them (they are requeued when it returns).
func (b *Bus) DeadLetters(ctx context.Context, limit int) ([]DeadLetter, error) {
	b.mu.Lock()
	c, err := b.connection()
	if err == nil {
		var pub *amqp.Channel
		if pub, err = b.publisher(ctx); err == nil {
			err = b.declareQueue(pub, b.DeadLetterQueue())
		}
	}
	b.mu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("amqp: dead letters: %w", err)
	}
	ch, err := c.Channel()
	if err != nil {
		return nil, fmt.Errorf("amqp: dead letters: %w", err)
	}
	defer ch.Close() // requeues what was read
	var out []DeadLetter
	for len(out) < limit && ctx.Err() == nil {
		d, ok, err := ch.Get(b.DeadLetterQueue(), false)
		if err != nil {
			return out, fmt.Errorf("amqp: dead letters: %w", err)
		}
		if !ok {
			break
		}
		dl := DeadLetter{Body: d.Body, Headers: d.Headers, Deliveries: deliveriesBefore(d)}
		dl.Reason, _ = d.Headers[HeaderReason].(string)
		if ev, err := decode(d); err == nil {
			dl.Event = ev
		}
		out = append(out, dl)
	}
	return out, nil
}
