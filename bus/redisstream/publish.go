package redisstream

import (
	"context"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/internal/cloudevents"
)

// Publish appends ev to the stream of its type. Calls made while another
// call's XADD is in flight gather and go out together, as one pipeline,
// when it returns; each call still gets its own outcome. A call whose ctx
// ends while it waits returns ctx's error: if its XADD was already on its
// way, the event may be stored nonetheless.
func (b *Bus) Publish(ctx context.Context, ev synclayer.Event) error {
	args, err := b.entry(ev)
	if err != nil {
		return err
	}
	o := &outgoing{ctx: ctx, args: args}
	if err := b.send(ctx, o); err != nil {
		return fmt.Errorf("redisstream: publish %q: %w", ev.ID, err)
	}
	if o.err != nil {
		return fmt.Errorf("redisstream: publish %q: %w", ev.ID, o.err)
	}
	return nil
}

// entry is the XADD of ev, or the error that Publish and PublishBatch
// return for ev without sending it: ErrClosed after Close, a permanent
// error when ev cannot be encoded.
func (b *Bus) entry(ev synclayer.Event) (*redis.XAddArgs, error) {
	if b.subs.Closed() {
		return nil, fmt.Errorf("redisstream: publish %q: %w", ev.ID, ErrClosed)
	}
	body, err := cloudevents.Marshal(ev)
	if err != nil {
		return nil, synclayer.Permanent(fmt.Errorf("redisstream: publish %q: %w", ev.ID, err))
	}
	return &redis.XAddArgs{
		Stream: b.Stream(ev.Type),
		MaxLen: b.maxLen,
		Approx: true,
		Values: []any{FieldEvent, body},
	}, nil
}
