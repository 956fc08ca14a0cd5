package kafka

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hmsplatform/synclayer"
)

// copyOf is the record to produce for r, with its delivery count.
func copyOf(r *kgo.Record, topic string, deliveries int) *kgo.Record {
	c := &kgo.Record{Topic: topic, Key: r.Key, Value: r.Value}
	for _, h := range r.Headers {
		switch h.Key {
		case HeaderDeliveries, HeaderNotBefore, HeaderReason, HeaderTopic, HeaderDeferrals:
		default:
			c.Headers = append(c.Headers, h)
		}
	}
	c.Headers = append(c.Headers, kgo.RecordHeader{Key: HeaderDeliveries, Value: []byte(strconv.Itoa(deliveries))})
	if n := header(r, HeaderDeferrals); n != "" {
		c.Headers = append(c.Headers, kgo.RecordHeader{Key: HeaderDeferrals, Value: []byte(n)})
	}
	return c
}

// redeliver produces a copy of r to the group's retry topic for its type,
// with deliveries as its count of deliveries so far, due after wait. A
// deferral (synclayer.Redeliver) also counts itself in HeaderDeferrals.
func (b *Bus) redeliver(ctx context.Context, r *kgo.Record, ev synclayer.Event, deliveries int, wait time.Duration, deferral bool) error {
	c := copyOf(r, b.RetryTopic(ev.Type), deliveries)
	if deferral {
		n, _ := strconv.Atoi(header(r, HeaderDeferrals))
		c.Headers = slices.DeleteFunc(c.Headers, func(h kgo.RecordHeader) bool { return h.Key == HeaderDeferrals })
		c.Headers = append(c.Headers, kgo.RecordHeader{Key: HeaderDeferrals, Value: []byte(strconv.Itoa(n + 1))})
	}
	due := time.Now().Add(wait)
	c.Headers = append(c.Headers, kgo.RecordHeader{Key: HeaderNotBefore, Value: []byte(strconv.FormatInt(due.UnixMilli(), 10))})
	if err := b.producer.ProduceSync(ctx, c).FirstErr(); err != nil {
		return fmt.Errorf("%w: retry of event %q: %w", ErrProduce, ev.ID, err)
	}
	return nil
}
