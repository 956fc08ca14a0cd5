package redisstream

import (
	"context"
	"fmt"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/bus"
)

// PublishBatch appends evs to the streams of their types in one pipeline,
// in their order (it implements [bus.BatchPublisher]). It returns nil when
// every event was stored, else a *[bus.BatchError] naming each failure; an
// event that cannot be encoded fails permanently and does not hold back
// the others.
func (b *Bus) PublishBatch(ctx context.Context, evs []synclayer.Event) error {
	errs := make([]error, len(evs))
	os := make([]*outgoing, 0, len(evs))
	at := make([]int, 0, len(evs)) // at[j] is the index in evs of os[j]
	for i, ev := range evs {
		args, err := b.entry(ev)
		if err != nil {
			errs[i] = err
			continue
		}
		os = append(os, &outgoing{ctx: ctx, args: args})
		at = append(at, i)
	}
	if len(os) > 0 {
		for j, cmd := range b.xadds(ctx, os) {
			if err := cmd.Err(); err != nil {
				i := at[j]
				errs[i] = fmt.Errorf("redisstream: publish %q: %w", evs[i].ID, err)
			}
		}
	}
	return bus.BatchResult(errs)
}
