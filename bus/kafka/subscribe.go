package kafka

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/internal/ctxsleep"
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
	// set another (handlers do not hold up the heartbeats).
	opts := append([]kgo.Opt{kgo.SessionTimeout(DefaultSessionTimeout)}, b.clientOpts...)
	cl, err := kgo.NewClient(append(opts,
		kgo.SeedBrokers(b.seeds...),
		kgo.ConsumerGroup(b.cfg.Group),
		kgo.ConsumeTopics(topics...),
		kgo.DisableAutoCommit(),
		kgo.BlockRebalanceOnPoll(),
		kgo.AllowAutoTopicCreation(),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
	)...)
	if err != nil {
		return fmt.Errorf("kafka: subscribe: %w", err)
	}
	defer cl.Close()
	s := &subscriber{b: b, cl: cl, h: h, hctx: hctx}
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
}

func (s *subscriber) run(ctx context.Context) error {
	for {
		fetches := s.cl.PollRecords(ctx, 4*s.b.cfg.Concurrency)
		if ctx.Err() != nil {
			s.cl.AllowRebalance()
			return nil
		}
		var fatal error
		fetches.EachError(func(topic string, p int32, err error) {
			if errors.Is(err, kgo.ErrClientClosed) || errors.Is(err, context.Canceled) {
				return
			}
			// Unknown topics are auto-created as producers use them;
			// other fetch errors are retried by the client.
			if s.b.cfg.Logger != nil {
				s.b.cfg.Logger.Warn("kafka: fetch error", "topic", topic, "partition", p, "err", err)
			}
		})
		byPartition := map[topicPartition][]*kgo.Record{}
		var order []topicPartition
		fetches.EachRecord(func(r *kgo.Record) {
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
// not be settled.
func (s *subscriber) partition(ctx context.Context, recs []*kgo.Record) (last *kgo.Record, err error) {
	for _, r := range recs {
		if ctx.Err() != nil {
			return last, nil
		}
		if nb := header(r, HeaderNotBefore); nb != "" {
			if ms, err := strconv.ParseInt(nb, 10, 64); err == nil {
				if ctxsleep.Sleep(ctx, time.Until(time.UnixMilli(ms))) != nil {
					return last, nil
				}
			}
		}
		if err := s.handle(ctx, r); err != nil {
			return last, err
		}
		last = r
	}
	return last, nil
}
