package redisstream

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/bus/internal/deliver"
)

// Subscribe delivers events of eventTypes to h until ctx ends, running up to
// WithConcurrency handler calls at once; see the package doc for the
// delivery semantics. The handler's context ends with ctx. Subscribe
// returns nil after ctx ends, or [Bus.Close] stops it, and every handler
// call has returned; [ErrClosed] after Close; or an error if Redis fails
// for longer than a few retries.
func (b *Bus) Subscribe(ctx context.Context, eventTypes []string, h func(context.Context, synclayer.Event) error) error {
	ctx, hctx, leave, err := b.subs.Start(ctx, "redisstream", eventTypes, h, ErrClosed)
	if err != nil {
		return err
	}
	defer leave()
	s := &subscription{
		hctx:     hctx,
		b:        b,
		h:        h,
		consumer: consumerName(),
		sem:      make(chan struct{}, b.cfg.Concurrency),
		inflight: map[entryKey]bool{},
	}
	seen := map[string]bool{}
	for _, t := range eventTypes {
		if t == "" {
			return errors.New("redisstream: subscribe: empty event type")
		}
		st := b.Stream(t)
		if seen[st] {
			continue
		}
		seen[st] = true
		s.streams = append(s.streams, st)
		err := b.rdb.XGroupCreateMkStream(ctx, st, b.cfg.Group, "0").Err()
		if err != nil && !strings.HasPrefix(err.Error(), "BUSYGROUP") {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("redisstream: subscribe: create group %q on %s: %w", b.cfg.Group, st, err)
		}
	}
	return s.run(ctx)
}

func consumerName() string {
	host, _ := os.Hostname()
	var r [6]byte
	rand.Read(r[:])
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(r[:]))
}

type entryKey struct{ stream, id string }

// subscription is one running Subscribe call: one consumer of the group.
type subscription struct {
	hctx     context.Context // handlers run with it
	b        *Bus
	h        func(context.Context, synclayer.Event) error
	consumer string
	streams  []string
	sem      chan struct{}
	handlers sync.WaitGroup

	mu       sync.Mutex
	inflight map[entryKey]bool // kept fresh: running, or waiting for a slot

	acks      chan entryKey // entries to acknowledge, batched by acker
	ackerDone chan struct{}
}

func (s *subscription) run(ctx context.Context) error {
	s.acks = make(chan entryKey, cap(s.sem))
	s.ackerDone = make(chan struct{})
	go s.acker()
	var loops sync.WaitGroup
	errc := make(chan error, 2)
	loops.Go(func() {
		if err := s.readLoop(ctx); err != nil {
			errc <- err
		}
	})
	loops.Go(func() {
		if err := s.reclaimLoop(ctx); err != nil {
			errc <- err
		}
	})
	// The heartbeat outlives the loops: handlers may run on after ctx
	// ends, while Close waits for them.
	stopBeat := make(chan struct{})
	beat := make(chan struct{})
	go func() {
		defer close(beat)
		s.heartbeat(stopBeat)
	}()
	loops.Wait()
	s.handlers.Wait()
	close(stopBeat)
	<-beat
	close(s.acks)
	<-s.ackerDone
	s.leave()
	select {
	case err := <-errc:
		return err
	default:
		return nil
	}
}

// leave removes the consumer from the groups when it holds no entry, so
// dead consumer names do not pile up.
func (s *subscription) leave() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, st := range s.streams {
		p, err := s.b.rdb.XPendingExt(ctx, &redis.XPendingExtArgs{Stream: st, Group: s.b.cfg.Group, Start: "-", End: "+", Count: 1, Consumer: s.consumer}).Result()
		if err == nil && len(p) == 0 {
			s.b.rdb.XGroupDelConsumer(ctx, st, s.b.cfg.Group, s.consumer)
		}
	}
}

// readLoop reads new entries with XREADGROUP.
func (s *subscription) readLoop(ctx context.Context) error {
	args := &redis.XReadGroupArgs{Group: s.b.cfg.Group, Consumer: s.consumer, Block: 500 * time.Millisecond}
	args.Streams = append(args.Streams, s.streams...)
	for range s.streams {
		args.Streams = append(args.Streams, ">")
	}
	var fails failures
	for ctx.Err() == nil {
		if !deliver.Acquire(ctx, s.sem) {
			return nil
		}
		// One slot is ours. Read a full batch anyway: the entries beyond the
		// free slots wait for one below (few round trips under load).
		args.Count = int64(cap(s.sem))
		res, err := s.b.rdb.XReadGroup(ctx, args).Result()
		if errors.Is(err, redis.Nil) {
			err = nil
		}
		if err != nil && ctx.Err() == nil && isNoGroup(err) {
			// The group was deleted (or the key): make it again.
			for _, st := range s.streams {
				s.b.rdb.XGroupCreateMkStream(ctx, st, s.b.cfg.Group, "0")
			}
		}
		if err != nil {
			<-s.sem
			if ctx.Err() != nil {
				return nil
			}
			if ferr := fails.check(ctx, "XREADGROUP", err); ferr != nil {
				return ferr
			}
			continue
		}
		fails.check(ctx, "", nil)
		// The entries beyond the free slots wait for one: the heartbeat
		// keeps them fresh from now on, as it does running ones, so that
		// no other subscriber reclaims them meanwhile.
		s.mu.Lock()
		for _, st := range res {
			for _, m := range st.Messages {
				s.inflight[entryKey{st.Stream, m.ID}] = true
			}
		}
		s.mu.Unlock()
		first, stopping := true, false
		for _, st := range res {
			for i, m := range st.Messages {
				if stopping || ctx.Err() != nil || (!first && !deliver.Acquire(ctx, s.sem)) {
					// Stopping (ctx may have ended during the blocking
					// read): hand the entries not started to the retry
					// consumer, so another subscriber takes them soon.
					stopping = true
					s.park(st.Stream, st.Messages[i:])
					break
				}
				first = false
				s.dispatch(st.Stream, m, 1, 0)
			}
		}
		if first {
			<-s.sem // nothing read
		}
	}
	return nil
}

// park hands entries to the retry consumer unhandled, due at once. Their
// read is recorded as a deferral, so that it does not count as a delivery.
// They were new entries: no deferral was recorded for them before. They
// leave the kept-fresh entries first, so that the heartbeat does not take
// them back from the retry consumer.
func (s *subscription) park(stream string, msgs []redis.XMessage) {
	ids := make([]string, len(msgs))
	for i, m := range msgs {
		ids[i] = m.ID
		s.forget(entryKey{stream, m.ID})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := s.b.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.XClaimJustID(ctx, &redis.XClaimArgs{Stream: stream, Group: s.b.cfg.Group, Consumer: retryConsumer, Messages: ids})
		vals := make([]any, 0, 2*len(ids))
		for _, id := range ids {
			vals = append(vals, deferralField(entryKey{stream, id}), deferral{count: 1}.String())
		}
		p.HSet(ctx, s.b.DeferralsKey(), vals...)
		return nil
	})
	if err != nil && s.b.cfg.Logger != nil {
		s.b.cfg.Logger.Warn("redisstream: could not hand back entries; they will be reclaimed after the claim idle time", "entries", len(ids), "err", err)
	}
}

func isNoGroup(err error) bool { return strings.HasPrefix(err.Error(), "NOGROUP") }

// dispatch runs the handler for one entry in a slot already acquired.
// deliveries is the count of this delivery, deferrals left out; deferred
// is how many earlier deliveries were deferred.
func (s *subscription) dispatch(stream string, m redis.XMessage, deliveries, deferred int) {
	k := entryKey{stream, m.ID}
	s.mu.Lock()
	s.inflight[k] = true
	s.mu.Unlock()
	s.handlers.Go(func() {
		defer func() { <-s.sem }()
		s.handle(s.hctx, k, m, deliveries, deferred)
	})
}

// forget removes an entry from the kept-fresh ones (running, or read and
// waiting for a slot), before it is settled or parked, so that
// touchInflight cannot take it back from where settling puts it.
func (s *subscription) forget(k entryKey) {
	s.mu.Lock()
	delete(s.inflight, k)
	s.mu.Unlock()
}
