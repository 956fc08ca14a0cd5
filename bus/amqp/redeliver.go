package amqp

import (
	"context"
	"strings"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// copyOf is the message to republish for d, with its delivery count.
func copyOf(d amqp.Delivery, deliveries int) amqp.Publishing {
	hdr := amqp.Table{}
	for k, v := range d.Headers {
		if !strings.HasPrefix(k, "x-death") && k != "x-first-death-exchange" && k != "x-first-death-queue" && k != "x-first-death-reason" {
			hdr[k] = v
		}
	}
	hdr[HeaderDeliveries] = int64(deliveries)
	return amqp.Publishing{
		Headers:      hdr,
		ContentType:  d.ContentType,
		DeliveryMode: amqp.Persistent,
		MessageId:    d.MessageId,
		Type:         d.Type,
		Body:         d.Body,
	}
}

// retry parks d in the retry queue of its delay, then acknowledges it.
func (b *Bus) retry(ctx context.Context, d amqp.Delivery, deliveries int) {
	q := b.retryQueue(b.cfg.RetryDelay(deliveries))
	if err := b.send(ctx, "", q, copyOf(d, deliveries)); err != nil {
		if b.cfg.Logger != nil {
			b.cfg.Logger.Warn("amqp: could not schedule a redelivery; requeued at once", "message", d.MessageId, "err", err)
		}
		d.Nack(false, true)
		return
	}
	d.Ack(false)
}

// deferral parks d in the deferral queue of at least the delay after,
// without counting this delivery, then acknowledges it.
func (b *Bus) deferral(ctx context.Context, d amqp.Delivery, after time.Duration, deliveries int) {
	msg := copyOf(d, deliveries-1)
	msg.Headers[HeaderDeferrals] = int64(intHeader(d, HeaderDeferrals) + 1)
	if err := b.send(ctx, "", b.deferralQueue(after), msg); err != nil {
		if b.cfg.Logger != nil {
			b.cfg.Logger.Warn("amqp: could not defer a redelivery; requeued at once", "message", d.MessageId, "err", err)
		}
		d.Nack(false, true)
		return
	}
	d.Ack(false)
}
