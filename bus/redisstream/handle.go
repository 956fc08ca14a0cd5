package redisstream

import (
	"context"
	"fmt"
	"iter"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/bus/internal/deliver"
	"github.com/hmsplatform/synclayer/internal/cloudevents"
)

func (s *subscription) handle(ctx context.Context, k entryKey, m redis.XMessage, deliveries, deferred int) {
	b := s.b
	stream := k.stream
	// Settling uses its own context: it must happen even after ctx ended.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	ev, err := decode(m.Values)
	if err != nil {
		s.forget(k)
		s.deadLetter(sctx, stream, m, fmt.Errorf("redisstream: entry %s of %s: %w", m.ID, stream, err), deliveries)
		return
	}
	if deliveries > b.cfg.MaxDeliveries {
		s.forget(k)
		s.deadLetter(sctx, stream, m, deliver.OverLimit("redisstream", ev.ID, deliveries, b.cfg.MaxDeliveries), deliveries)
		return
	}
	herr := deliver.Call(ctx, "redisstream", s.h, ev)
	s.forget(k)
	after, deferring := synclayer.RedeliverAfter(herr)
	if deliver.Interrupted(ctx, herr) {
		// Cut short by the subscriber stopping: parked as a deferral due
		// at once, so that this delivery does not count.
		after, deferring = 0, true
	}
	switch {
	case herr == nil && deferred == 0:
		s.acks <- k
	case herr == nil:
		_, err := b.rdb.Pipelined(sctx, func(p redis.Pipeliner) error {
			p.XAck(sctx, stream, b.cfg.Group, m.ID)
			p.HDel(sctx, b.DeferralsKey(), deferralField(k))
			return nil
		})
		if err != nil && b.cfg.Logger != nil {
			b.cfg.Logger.Warn("redisstream: XACK failed; the event will be redelivered", "event", ev.ID, "err", err)
		}
	case !deferring && (synclayer.IsPermanent(herr) || deliveries >= b.cfg.MaxDeliveries):
		s.deadLetter(sctx, stream, m, herr, deliveries)
	default:
		// Park the entry with the retry consumer; claiming resets its idle
		// time, which then measures the redelivery delay. A deferral is
		// counted, with the delay it asks for, in the deferrals hash.
		d := deferral{delay: -1, count: deferred}
		if deferring {
			d = deferral{delay: after, count: deferred + 1}
		}
		_, err := b.rdb.Pipelined(sctx, func(p redis.Pipeliner) error {
			p.XClaimJustID(sctx, &redis.XClaimArgs{Stream: stream, Group: b.cfg.Group, Consumer: retryConsumer, Messages: []string{m.ID}})
			if d.count > 0 {
				p.HSet(sctx, b.DeferralsKey(), deferralField(k), d.String())
			}
			return nil
		})
		if err != nil && b.cfg.Logger != nil {
			b.cfg.Logger.Warn("redisstream: could not schedule a redelivery; the entry will be reclaimed after the claim idle time", "event", ev.ID, "err", err)
		}
	}
}

// decode reads the event of an entry: structured mode in FieldEvent, or
// binary mode with ce- fields and FieldData.
func decode(values map[string]any) (synclayer.Event, error) {
	body, ok := values[FieldEvent]
	if !ok {
		body, ok = values[FieldData]
	}
	if !ok {
		if _, bin := values["ce-specversion"]; !bin {
			return synclayer.Event{}, fmt.Errorf("%w: entry has no %q field", cloudevents.ErrInvalid, FieldEvent)
		}
	}
	var hdr iter.Seq2[string, string] = func(yield func(string, string) bool) {
		for k, v := range values {
			if k == FieldEvent || k == FieldData {
				continue
			}
			if !yield(k, fmt.Sprint(v)) {
				return
			}
		}
	}
	return cloudevents.Decode([]byte(asString(body)), hdr)
}

func asString(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case []byte:
		return string(x)
	}
	return fmt.Sprint(v)
}
