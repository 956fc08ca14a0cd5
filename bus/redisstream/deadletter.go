package redisstream

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/bus/internal/deliver"
)

// deadLetter appends the entry to the dead-letter stream with the reason
// and acknowledges it, in one transaction.
func (s *subscription) deadLetter(ctx context.Context, stream string, m redis.XMessage, reason error, deliveries int) {
	b := s.b
	vals := make([]any, 0, 2*len(m.Values)+8)
	for k, v := range m.Values {
		if !strings.HasPrefix(k, "deadletter-") {
			vals = append(vals, k, v)
		}
	}
	vals = append(vals, FieldReason, deliver.Reason(reason), FieldDeliveries, strconv.Itoa(deliveries), FieldStream, stream, FieldID, m.ID)
	_, err := b.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.XAdd(ctx, &redis.XAddArgs{Stream: b.DeadLetterStream(), MaxLen: b.maxLen, Approx: true, Values: vals})
		p.XAck(ctx, stream, b.cfg.Group, m.ID)
		p.HDel(ctx, b.DeferralsKey(), deferralField(entryKey{stream, m.ID}))
		return nil
	})
	if err != nil {
		if b.cfg.Logger != nil {
			b.cfg.Logger.Error("redisstream: dead letter not written; the entry stays pending", "stream", stream, "id", m.ID, "reason", reason, "err", fmt.Errorf("%w: %w", ErrDeadLetter, err))
		}
		return
	}
	if b.cfg.Logger != nil {
		b.cfg.Logger.Warn("redisstream: entry dead-lettered", "stream", stream, "id", m.ID, "deliveries", deliveries, "reason", reason)
	}
}

// DeadLetter is an entry the bus gave up on, as [Bus.DeadLetters] reads it
// back.
type DeadLetter struct {
	// ID is the dead letter's own entry ID in the dead-letter stream.
	ID string
	// Event is the decoded event; zero when the entry was not a valid
	// event (Values then holds what it had).
	Event      synclayer.Event
	Values     map[string]any
	Reason     string // the handler's last error, or why the entry is invalid
	Deliveries int
	Stream     string // the stream the entry was in
	EntryID    string // its ID there
}

// DeadLetters reads the dead-letter stream, oldest first, up to limit
// entries (all when limit <= 0).
func (b *Bus) DeadLetters(ctx context.Context, limit int64) ([]DeadLetter, error) {
	var msgs []redis.XMessage
	var err error
	if limit > 0 {
		msgs, err = b.rdb.XRangeN(ctx, b.DeadLetterStream(), "-", "+", limit).Result()
	} else {
		msgs, err = b.rdb.XRange(ctx, b.DeadLetterStream(), "-", "+").Result()
	}
	if err != nil {
		return nil, fmt.Errorf("redisstream: dead letters: %w", err)
	}
	out := make([]DeadLetter, 0, len(msgs))
	for _, m := range msgs {
		dl := DeadLetter{
			ID:      m.ID,
			Values:  m.Values,
			Reason:  asString(m.Values[FieldReason]),
			Stream:  asString(m.Values[FieldStream]),
			EntryID: asString(m.Values[FieldID]),
		}
		dl.Deliveries, _ = strconv.Atoi(asString(m.Values[FieldDeliveries]))
		if ev, err := decode(m.Values); err == nil {
			dl.Event = ev
		}
		out = append(out, dl)
	}
	return out, nil
}
