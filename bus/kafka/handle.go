package kafka

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/bus/internal/deliver"
	"github.com/hmsplatform/synclayer/internal/cloudevents"
)

func header(r *kgo.Record, key string) string {
	for _, h := range r.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}

func decode(r *kgo.Record) (synclayer.Event, error) {
	return cloudevents.Decode(r.Value, func(yield func(string, string) bool) {
		for _, h := range r.Headers {
			if !yield(h.Key, string(h.Value)) {
				return
			}
		}
	})
}

// handle processes one record. It reports false when the record is left
// unsettled, for the group to deliver again from its committed offset: its
// handler call was cut short by the subscriber stopping. An error means it
// could not be settled.
func (s *subscriber) handle(ctx context.Context, r *kgo.Record) (settled bool, err error) {
	b := s.b
	deliveries := 1
	if h := header(r, HeaderDeliveries); h != "" {
		before, _ := strconv.Atoi(h)
		deliveries += before
	}
	// Settling uses its own context: it must happen even after ctx ended.
	settle := func() (context.Context, context.CancelFunc) {
		return context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	}
	ev, err := decode(r)
	if err != nil {
		sctx, cancel := settle()
		defer cancel()
		return true, b.deadLetter(sctx, r, fmt.Errorf("kafka: record %s/%d@%d: %w", r.Topic, r.Partition, r.Offset, err), deliveries)
	}
	herr := deliver.Call(s.hctx, "kafka", s.h, ev)
	if herr == nil {
		return true, nil
	}
	if deliver.Interrupted(s.hctx, herr) {
		// Cut short by the subscriber stopping: left uncommitted, as the
		// records after it are, so that it comes again with its count.
		return false, nil
	}
	sctx, cancel := settle()
	defer cancel()
	if after, ok := synclayer.RedeliverAfter(herr); ok {
		// The event came too early: the copy keeps the delivery count.
		return true, b.redeliver(sctx, r, ev, deliveries-1, after, true)
	}
	if synclayer.IsPermanent(herr) || deliveries >= b.cfg.MaxDeliveries {
		return true, b.deadLetter(sctx, r, herr, deliveries)
	}
	return true, b.redeliver(sctx, r, ev, deliveries, b.cfg.RetryDelay(deliveries), false)
}
