package kafka

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/internal/cloudevents"
)

// Publish produces ev to the topic of its type, keyed by its Subject (or
// its ID when it has none), and waits for the brokers to acknowledge it.
func (b *Bus) Publish(ctx context.Context, ev synclayer.Event) error {
	if b.subs.Closed() {
		return fmt.Errorf("kafka: publish %q: %w", ev.ID, ErrClosed)
	}
	if !validTopicPart(ev.Type) {
		return synclayer.Permanent(fmt.Errorf("kafka: publish %q: %w: %q", ev.ID, ErrInvalidType, ev.Type))
	}
	body, err := cloudevents.Marshal(ev)
	if err != nil {
		return synclayer.Permanent(fmt.Errorf("kafka: publish %q: %w", ev.ID, err))
	}
	key := ev.Subject
	if key == "" {
		key = ev.ID
	}
	rec := &kgo.Record{
		Topic:   b.Topic(ev.Type),
		Key:     []byte(key),
		Value:   body,
		Headers: []kgo.RecordHeader{{Key: "content-type", Value: []byte(cloudevents.ContentType)}},
	}
	if err := b.producer.ProduceSync(ctx, rec).FirstErr(); err != nil {
		return fmt.Errorf("kafka: publish %q: %w", ev.ID, err)
	}
	return nil
}
