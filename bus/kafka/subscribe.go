package kafka

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hmsplatform/synclayer"
)

// Subscribe delivers events of eventTypes to h until ctx ends; see the
// package doc for the delivery semantics. The handler's context ends with
// ctx. Subscribe returns nil after ctx ends, or [Bus.Close] stops it, and
// every handler call has returned; [ErrClosed] after Close; or an error if
// the client fails or a retry or dead letter cannot be produced.
func (b *Bus) Subscribe(ctx context.Context, eventTypes []string, h func(context.Context, synclayer.Event) error) error {
	ctx, hctx, leave, err := b.subs.Start(ctx, "kafka", eventTypes, h, ErrClosed)
	if err != nil {
		return err
	}
	defer leave()
	var topics []string
	for _, t := range eventTypes {
		if !validTopicPart(t) {
			return fmt.Errorf("kafka: subscribe: %w: %q", ErrInvalidType, t)
		}
		topics = append(topics, b.Topic(t), b.RetryTopic(t))
	}
	slices.Sort(topics)
	topics = slices.Compact(topics)
	// A member that dies is noticed after the session timeout; the bus's
	// default is shorter than franz-go's 45s, and WithClientOptions may
	// set another (handlers do not hold up the heartbeats). A partition
	// resumed when its waiting record is due is in the next fetch to its
	// broker, after the one in flight: the bus's fetches wait less than
	// franz-go's 5s for new records.
	opts := append([]kgo.Opt{kgo.SessionTimeout(DefaultSessionTimeout), kgo.FetchMaxWait(DefaultFetchMaxWait)}, b.clientOpts...)
	// The partitions paused while a record waits for its not-before time;
	// the member forgets those it loses.
	w := &waits{}
	cl, err := kgo.NewClient(append(opts,
		kgo.SeedBrokers(b.seeds...),
		kgo.ConsumerGroup(b.cfg.Group),
		kgo.ConsumeTopics(topics...),
		kgo.DisableAutoCommit(),
		kgo.BlockRebalanceOnPoll(),
		kgo.AllowAutoTopicCreation(),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.OnPartitionsRevoked(w.drop),
		kgo.OnPartitionsLost(w.drop),
	)...)
	if err != nil {
		return fmt.Errorf("kafka: subscribe: %w", err)
	}
	defer cl.Close()
	s := &subscriber{b: b, cl: cl, h: h, hctx: hctx, waits: w}
	err = s.run(ctx)
	// Leave the group at once, so the others take over without waiting for
	// the session to time out.
	cl.LeaveGroup()
	return err
}

type topicPartition struct {
	topic     string
	partition int32
}

type subscriber struct {
	b    *Bus
	cl   *kgo.Client
	h    func(context.Context, synclayer.Event) error
	hctx context.Context // handlers run with it
	// waits are the partitions paused until a record's not-before time.
	waits *waits
}

func (s *subscriber) run(ctx context.Context) error {
	defer s.waits.stop()
	for {
		// A poll ends when the first paused partition is due, to resume it.
		pctx, cancel := ctx, context.CancelFunc(func() {})
		if due, ok := s.waits.next(); ok {
			pctx, cancel = context.WithDeadline(ctx, due)
		}
		fetches := s.cl.PollRecords(pctx, 4*s.b.cfg.Concurrency)
		cancel()
		if ctx.Err() != nil {
			s.cl.AllowRebalance()
			return nil
		}
		if len(fetches) == 0 {
			// The poll gave up without blocking rebalances (a rebalance
			// took what it would have returned): release nothing now, the
			// member may not own it; the next poll returns at once for a
			// wait that is due, with rebalances blocked.
			s.cl.AllowRebalance()
			continue
		}
		var fatal error
		fetches.EachError(func(topic string, p int32, err error) {
			if errors.Is(err, kgo.ErrClientClosed) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
				return
			}
			// Unknown topics are auto-created as producers use them;
			// other fetch errors are retried by the client.
			if s.b.cfg.Logger != nil {
				s.b.cfg.Logger.Warn("kafka: fetch error", "topic", topic, "partition", p, "err", err)
			}
		})
		// The tails of the partitions now due go first, before what
		// this poll brought of them; rebalances are blocked, so the
		// member still owns them.
		byPartition := s.waits.release(s.cl, time.Now())
		if byPartition == nil {
			byPartition = map[topicPartition][]*kgo.Record{}
		}
		var order []topicPartition
		for tp := range byPartition {
			order = append(order, tp)
		}
		fetches.EachRecord(func(r *kgo.Record) {
			if s.waits.keep(r) {
				return // behind a waiting record: handled after it
			}
			tp := topicPartition{r.Topic, r.Partition}
			if _, ok := byPartition[tp]; !ok {
				order = append(order, tp)
			}
			byPartition[tp] = append(byPartition[tp], r)
		})
		var (
			wg   sync.WaitGroup
			mu   sync.Mutex
			done []*kgo.Record
			sem  = make(chan struct{}, s.b.cfg.Concurrency)
		)
		for _, tp := range order {
			sem <- struct{}{}
			wg.Go(func() {
				defer func() { <-sem }()
				last, err := s.partition(ctx, byPartition[tp])
				mu.Lock()
				defer mu.Unlock()
				if last != nil {
					done = append(done, last)
				}
				if err != nil && fatal == nil {
					fatal = err
				}
			})
		}
		wg.Wait()
		if len(done) > 0 {
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			err := s.cl.CommitRecords(cctx, done...)
			cancel()
			if err != nil && s.b.cfg.Logger != nil {
				s.b.cfg.Logger.Warn("kafka: commit failed; records may be delivered again", "err", err)
			}
		}
		s.cl.AllowRebalance()
		if fatal != nil {
			return fatal
		}
		if ctx.Err() != nil {
			return nil
		}
	}
}

// partition handles the records of one partition in order. It returns the
// last record fully settled (to commit), and an error when a record could
// not be settled. At a record whose not-before time has not come it pauses
// the partition and keeps the records from that one on (see waits), and
// returns: they are handled when it is due.
func (s *subscriber) partition(ctx context.Context, recs []*kgo.Record) (last *kgo.Record, err error) {
	for i, r := range recs {
		if ctx.Err() != nil {
			return last, nil
		}
		if due, ok := notBefore(r); ok && s.isRetry(r.Topic) && time.Until(due) > 0 {
			s.waits.hold(s.cl, recs[i:], due)
			return last, nil
		}
		settled, err := s.handle(ctx, r)
		if err != nil || !settled {
			return last, err
		}
		last = r
	}
	return last, nil
}

// isRetry reports whether topic is one of the group's retry topics: the
// only ones whose not-before header the member honours. A header on an
// event topic is not the bus's own, and would let a producer stall the
// partition at will.
func (s *subscriber) isRetry(topic string) bool {
	return strings.HasPrefix(topic, s.b.RetryTopic("")) // the name RetryTopic gives, but the event type
}
