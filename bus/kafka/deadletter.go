package kafka

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/bus/internal/deliver"
)

// deadLetter produces a copy of r to the dead-letter topic with the reason.
func (b *Bus) deadLetter(ctx context.Context, r *kgo.Record, reason error, deliveries int) error {
	c := copyOf(r, b.DeadLetterTopic(), deliveries)
	c.Headers = append(c.Headers,
		kgo.RecordHeader{Key: HeaderReason, Value: []byte(deliver.Reason(reason))},
		kgo.RecordHeader{Key: HeaderTopic, Value: []byte(r.Topic)})
	if err := b.producer.ProduceSync(ctx, c).FirstErr(); err != nil {
		return fmt.Errorf("%w: dead letter of %s/%d@%d: %w", ErrProduce, r.Topic, r.Partition, r.Offset, err)
	}
	if b.cfg.Logger != nil {
		b.cfg.Logger.Warn("kafka: record dead-lettered", "topic", r.Topic, "partition", r.Partition, "offset", r.Offset, "deliveries", deliveries, "reason", reason)
	}
	return nil
}

// DeadLetter is a record the bus gave up on, as [Bus.DeadLetters] reads it
// back.
type DeadLetter struct {
	// Event is the decoded event; zero when the record was not a valid
	// event (Value then holds it).
	Event      synclayer.Event
	Key, Value []byte
	Reason     string
	Deliveries int
	Topic      string // the topic the record came from
	Offset     int64  // its offset in the dead-letter topic
}

// DeadLetters reads the dead-letter topic from the start, up to what it
// holds now.
func (b *Bus) DeadLetters(ctx context.Context) ([]DeadLetter, error) {
	cl, err := kgo.NewClient(append(slices.Clone(b.clientOpts),
		kgo.SeedBrokers(b.seeds...),
		kgo.ConsumeTopics(b.DeadLetterTopic()),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		// A reader this short-lived gains nothing from a fetch session,
		// and without one franz-go's Close (v1.22.3) does not read the
		// session's id while a fetch still in flight writes it, a data
		// race the race detector reported.
		kgo.DisableFetchSessions(),
	)...)
	if err != nil {
		return nil, fmt.Errorf("kafka: dead letters: %w", err)
	}
	defer cl.Close()
	// How far to read: the end offsets now.
	ends, err := endOffsets(ctx, b.producer, b.DeadLetterTopic())
	if err != nil {
		return nil, fmt.Errorf("kafka: dead letters: %w", err)
	}
	remaining := 0
	for _, e := range ends {
		remaining += int(e)
	}
	var out []DeadLetter
	for remaining > 0 {
		fetches := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			return out, fmt.Errorf("kafka: dead letters: %w", ctx.Err())
		}
		fetches.EachRecord(func(r *kgo.Record) {
			if r.Offset >= ends[r.Partition] {
				return
			}
			remaining--
			dl := DeadLetter{Key: r.Key, Value: r.Value, Reason: header(r, HeaderReason), Topic: header(r, HeaderTopic), Offset: r.Offset}
			dl.Deliveries, _ = strconv.Atoi(header(r, HeaderDeliveries))
			if ev, err := decode(r); err == nil {
				dl.Event = ev
			}
			out = append(out, dl)
		})
	}
	return out, nil
}

// endOffsets returns the end offset of every partition of topic; none when
// the topic does not exist yet.
func endOffsets(ctx context.Context, cl *kgo.Client, topic string) (map[int32]int64, error) {
	listed, err := kadm.NewClient(cl).ListEndOffsets(ctx, topic)
	if err != nil {
		return nil, err
	}
	ends := map[int32]int64{}
	var ferr error
	listed.Each(func(o kadm.ListedOffset) {
		switch {
		case errors.Is(o.Err, kerr.UnknownTopicOrPartition):
		case o.Err != nil:
			ferr = o.Err
		default:
			ends[o.Partition] = o.Offset
		}
	})
	return ends, ferr
}
