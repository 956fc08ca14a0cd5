package nats

import (
	"context"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/bus"
)

// PublishBatch sends evs to the stream without waiting between them, in
// their order, then waits until JetStream has stored each one or ctx ends
// (it implements [bus.BatchPublisher]). Each message carries its
// event's ID as the JetStream message id, as Publish does, so the stream
// drops a copy sent again within its duplicate window. It returns nil
// when every event was stored, else a *[bus.BatchError] naming each
// failure; an event whose acknowledgement ctx cut short may be stored
// nonetheless.
func (b *Bus) PublishBatch(ctx context.Context, evs []synclayer.Event) error {
	errs := make([]error, len(evs))
	acks := make([]jetstream.PubAckFuture, len(evs))
	for i, ev := range evs {
		if b.subs.Closed() {
			errs[i] = fmt.Errorf("nats: publish %q: %w", ev.ID, ErrClosed)
			continue
		}
		if err := ctx.Err(); err != nil {
			errs[i] = fmt.Errorf("nats: publish %q: %w", ev.ID, err)
			continue
		}
		msg, err := b.message(ev)
		if err != nil {
			errs[i] = err
			continue
		}
		if acks[i], err = b.js.PublishMsgAsync(msg, jetstream.WithMsgID(ev.ID)); err != nil {
			errs[i] = fmt.Errorf("nats: publish %q: %w", ev.ID, err)
		}
	}
	for i, f := range acks {
		if f == nil {
			continue
		}
		// An acknowledgement that has arrived counts even after ctx ended.
		select {
		case <-f.Ok():
			continue
		case err := <-f.Err():
			errs[i] = fmt.Errorf("nats: publish %q: %w", evs[i].ID, err)
			continue
		default:
		}
		select {
		case <-f.Ok():
		case err := <-f.Err():
			errs[i] = fmt.Errorf("nats: publish %q: %w", evs[i].ID, err)
		case <-ctx.Done():
			errs[i] = fmt.Errorf("nats: publish %q: no acknowledgement: %w", evs[i].ID, ctx.Err())
		}
	}
	return bus.BatchResult(errs)
}
