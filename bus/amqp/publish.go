package amqp

import (
	"context"
	"fmt"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/internal/cloudevents"
)

// Publish sends ev to the exchange with its type as the routing key, and
// waits for the broker's confirm. Events of a type no queue is bound to are
// dropped by the broker, as AMQP does.
func (b *Bus) Publish(ctx context.Context, ev synclayer.Event) error {
	body, err := cloudevents.Marshal(ev)
	if err != nil {
		return synclayer.Permanent(fmt.Errorf("amqp: publish %q: %w", ev.ID, err))
	}
	msg := amqp.Publishing{
		ContentType:  cloudevents.ContentType,
		DeliveryMode: amqp.Persistent,
		MessageId:    ev.ID,
		Type:         ev.Type,
		Body:         body,
	}
	if err := b.send(ctx, b.exchange, ev.Type, msg); err != nil {
		return fmt.Errorf("amqp: publish %q: %w", ev.ID, err)
	}
	return nil
}
