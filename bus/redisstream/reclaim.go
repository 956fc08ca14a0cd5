package redisstream

import (
	"context"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hmsplatform/synclayer/bus/internal/deliver"
)

// heartbeat keeps the entries of running handlers, and those read and
// waiting for a handler slot, fresh every third of
// the claim idle time, until stop is closed or the handlers' context ends.
func (s *subscription) heartbeat(stop <-chan struct{}) {
	t := time.NewTicker(s.b.claimIdle / 3)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-s.hctx.Done():
			return
		case <-t.C:
		}
		if err := s.touchInflight(s.hctx); err != nil && s.hctx.Err() == nil && s.b.cfg.Logger != nil {
			s.b.cfg.Logger.Warn("redisstream: could not keep running entries fresh; another consumer may reclaim them", "err", err)
		}
	}
}

// reclaimLoop redelivers the entries whose retry delay has passed, and
// reclaims the entries of dead consumers.
func (s *subscription) reclaimLoop(ctx context.Context) error {
	tick := min(max(s.b.cfg.RedeliveryDelay/4, 10*time.Millisecond), time.Second)
	t := time.NewTicker(tick)
	defer t.Stop()
	lastClaim := time.Now()
	var fails failures
	retryFrom, claimFrom := map[string]string{}, map[string]string{}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		err := s.eachStream(ctx, retryFrom, s.redeliverDue)
		if err == nil && time.Since(lastClaim) >= s.b.claimIdle/5 {
			lastClaim = time.Now()
			err = s.eachStream(ctx, claimFrom, s.claimAbandoned)
		}
		if ctx.Err() != nil {
			return nil
		}
		if ferr := fails.check(ctx, "reclaiming entries", err); ferr != nil {
			return ferr
		}
	}
}

// eachStream runs look (redeliverDue or claimAbandoned), with the cursors
// from, on each stream of the subscription in turn. It stops at the first
// error, which it returns, or once ctx ends.
func (s *subscription) eachStream(ctx context.Context, from map[string]string, look func(ctx context.Context, st string, from map[string]string) error) error {
	for _, st := range s.streams {
		if err := look(ctx, st, from); err != nil || ctx.Err() != nil {
			return err
		}
	}
	return nil
}

// retryPages bounds the work of one look for due entries: at most that
// many pages of Concurrency entries of the retry consumer's pending list,
// by stream.
const retryPages = 16

// redeliverDue claims, from the retry consumer, the entries of stream st
// whose delay has passed: the delay a deferral asked for, or else the
// retry delay of their delivery count.
//
// A look goes on from where the previous one stopped, from[st] (the last
// entry it looked at; "" for the start of the list), to the end of the
// retry consumer's pending list, then from its start, for at most
// retryPages pages: however many entries wait there, not yet due, every
// entry is looked at in turn.
func (s *subscription) redeliverDue(ctx context.Context, st string, from map[string]string) error {
	first := from[st]
	start, end := "-", "+"
	if first != "" {
		start = "(" + first
	}
	for range retryPages {
		pend, err := s.b.rdb.XPendingExt(ctx, &redis.XPendingExtArgs{
			Stream: st, Group: s.b.cfg.Group, Start: start, End: end,
			Count: int64(cap(s.sem)), Consumer: retryConsumer,
		}).Result()
		if err != nil {
			return err
		}
		if len(pend) > 0 {
			if ok, err := s.redeliverPage(ctx, st, pend); !ok || err != nil {
				return err
			}
			from[st] = pend[len(pend)-1].ID
			start = "(" + from[st]
		}
		if len(pend) == cap(s.sem) {
			continue
		}
		if end != "+" || first == "" {
			// Every entry was looked at: the next look starts afresh.
			delete(from, st)
			return nil
		}
		// The end of the list: go on from its start up to where this look
		// began.
		start, end = "-", "("+first
	}
	return nil
}

// redeliverPage claims and dispatches the entries of pend, pending with
// the retry consumer in st, whose delay has passed. It returns false if
// ctx ended while it waited for a handler slot.
func (s *subscription) redeliverPage(ctx context.Context, st string, pend []redis.XPendingExt) (bool, error) {
	defs, err := s.deferrals(ctx, st, pend)
	if err != nil {
		return false, err
	}
	for i, p := range pend {
		d := defs[i]
		wait := d.delay
		if wait < 0 {
			wait = s.b.cfg.RetryDelay(int(p.RetryCount) - d.count)
		}
		if p.Idle < wait {
			continue
		}
		if !deliver.Acquire(ctx, s.sem) {
			return false, nil
		}
		// MinIdle makes the claim fail if another consumer took it
		// meanwhile (claiming resets the idle time).
		msgs, err := s.b.rdb.XClaim(ctx, &redis.XClaimArgs{Stream: st, Group: s.b.cfg.Group, Consumer: s.consumer, MinIdle: wait, Messages: []string{p.ID}}).Result()
		if err != nil || len(msgs) == 0 {
			<-s.sem
			if err != nil {
				return false, err
			}
			continue
		}
		s.dispatch(st, msgs[0], int(p.RetryCount)+1-d.count, d.count)
	}
	return true, nil
}

// touchInflight resets the idle time of the entries of running handlers
// and of those waiting for a slot, so that no other consumer reclaims
// them.
// It holds s.mu throughout, so that an entry is not settled meanwhile.
func (s *subscription) touchInflight(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	byStream := map[string][]string{}
	for k := range s.inflight {
		byStream[k.stream] = append(byStream[k.stream], k.id)
	}
	for st, ids := range byStream {
		if err := s.b.rdb.XClaimJustID(ctx, &redis.XClaimArgs{Stream: st, Group: s.b.cfg.Group, Consumer: s.consumer, Messages: ids}).Err(); err != nil {
			return err
		}
	}
	return nil
}

// claimCalls bounds the work of one look for abandoned entries: at most
// that many XAUTOCLAIM calls by stream. Redis 7 looks at up to ten times
// COUNT entries in one call, claiming or not.
const claimCalls = 16

// claimAbandoned takes over, with XAUTOCLAIM, entries of stream st that
// have been idle longer than the claim idle time: their consumer died.
//
// A look goes on from the cursor the previous one got, from[st] ("" for
// the start of the pending list), past calls that claim nothing, to the
// end of the list and then once from its start, for at most claimCalls
// calls: however many fresh entries come first, every entry is looked at
// in turn. It stops once no handler slot is free. Claiming resets an
// entry's idle time, so a look that comes round again does not claim it
// twice.
func (s *subscription) claimAbandoned(ctx context.Context, st string, from map[string]string) error {
	start, wrapped := from[st], false
	if start == "" {
		start, wrapped = "0-0", true
	}
	for range claimCalls {
		free := int64(cap(s.sem) - len(s.sem))
		if free == 0 || ctx.Err() != nil {
			return nil
		}
		msgs, next, err := s.b.rdb.XAutoClaim(ctx, &redis.XAutoClaimArgs{
			Stream: st, Group: s.b.cfg.Group, Consumer: s.consumer, MinIdle: s.b.claimIdle, Start: start, Count: free,
		}).Result()
		if err != nil {
			return err
		}
		for _, m := range msgs {
			if !deliver.Acquire(context.WithoutCancel(ctx), s.sem) {
				return nil
			}
			n, d := 1, deferral{delay: -1}
			if p, err := s.b.rdb.XPendingExt(ctx, &redis.XPendingExtArgs{Stream: st, Group: s.b.cfg.Group, Start: m.ID, End: m.ID, Count: 1}).Result(); err == nil && len(p) == 1 {
				n = int(p[0].RetryCount)
				if defs, err := s.deferrals(ctx, st, p); err == nil {
					d = defs[0]
				}
			}
			s.dispatch(st, m, max(n-d.count, 1), d.count)
		}
		if next != "0-0" {
			from[st], start = next, next
			continue
		}
		// The end of the list: the next look starts afresh.
		delete(from, st)
		if wrapped {
			return nil
		}
		start, wrapped = "0-0", true
	}
	return nil
}
