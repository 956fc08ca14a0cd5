package redisstream

import (
	"context"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/internal/cloudevents"
)

// Publish appends ev to the stream of its type.
func (b *Bus) Publish(ctx context.Context, ev synclayer.Event) error {
	if b.subs.Closed() {
		return fmt.Errorf("redisstream: publish %q: %w", ev.ID, ErrClosed)
	}
	body, err := cloudevents.Marshal(ev)
	if err != nil {
		return synclayer.Permanent(fmt.Errorf("redisstream: publish %q: %w", ev.ID, err))
	}
	err = b.rdb.XAdd(ctx, &redis.XAddArgs{
		Stream: b.Stream(ev.Type),
		MaxLen: b.maxLen,
		Approx: true,
		Values: []any{FieldEvent, body},
	}).Err()
	if err != nil {
		return fmt.Errorf("redisstream: publish %q: %w", ev.ID, err)
	}
	return nil
}
