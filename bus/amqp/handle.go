package amqp

import (
	"context"
	"fmt"
	"strings"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/bus/internal/deliver"
	"github.com/hmsplatform/synclayer/internal/cloudevents"
)

func deliveriesBefore(d amqp.Delivery) int { return intHeader(d, HeaderDeliveries) }

func intHeader(d amqp.Delivery, key string) int {
	switch v := d.Headers[key].(type) {
	case int32:
		return int(v)
	case int64:
		return int(v)
	case int:
		return v
	}
	return 0
}

func (b *Bus) handle(ctx context.Context, d amqp.Delivery, h func(context.Context, synclayer.Event) error) {
	deliveries := deliveriesBefore(d) + 1
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	ev, err := decode(d)
	if err != nil {
		b.deadLetter(sctx, d, fmt.Errorf("amqp: message %q: %w", d.MessageId, err), deliveries)
		return
	}
	if deliveries > b.cfg.MaxDeliveries {
		b.deadLetter(sctx, d, deliver.OverLimit("amqp", ev.ID, deliveries, b.cfg.MaxDeliveries), deliveries)
		return
	}
	herr := deliver.Call(ctx, "amqp", h, ev)
	if after, ok := synclayer.RedeliverAfter(herr); ok {
		b.deferral(sctx, d, after, deliveries)
		return
	}
	if deliver.Interrupted(ctx, herr) {
		// Cut short by the subscriber stopping: requeued at once with its
		// headers as they came, so that this delivery does not count.
		if err := d.Nack(false, true); err != nil && b.cfg.Logger != nil {
			b.cfg.Logger.Warn("amqp: could not requeue an interrupted event; the broker requeues it when the channel closes", "event", ev.ID, "err", err)
		}
		return
	}
	switch {
	case herr == nil:
		if err := d.Ack(false); err != nil && b.cfg.Logger != nil {
			b.cfg.Logger.Warn("amqp: ack failed; the event will be redelivered", "event", ev.ID, "err", err)
		}
	case synclayer.IsPermanent(herr) || deliveries >= b.cfg.MaxDeliveries:
		b.deadLetter(sctx, d, herr, deliveries)
	default:
		b.retry(sctx, d, deliveries)
	}
}

func decode(d amqp.Delivery) (synclayer.Event, error) {
	return cloudevents.Decode(d.Body, func(yield func(string, string) bool) {
		if d.ContentType != "" && !yield("content-type", d.ContentType) {
			return
		}
		for k, v := range d.Headers {
			s, ok := v.(string)
			if !ok {
				continue
			}
			// The AMQP binding of CloudEvents names the attributes
			// "cloudEvents:id" (or "cloudEvents_id").
			lk := strings.ToLower(k)
			if rest, ok := strings.CutPrefix(lk, "cloudevents:"); ok {
				k = "ce-" + rest
			} else if rest, ok := strings.CutPrefix(lk, "cloudevents_"); ok {
				k = "ce-" + rest
			}
			if !yield(k, s) {
				return
			}
		}
	})
}
