package redisstore

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/hmsplatform/synclayer/idempotency"
	"github.com/redis/go-redis/v9"
)

// maxBatch bounds the operations sent in one round trip. What gathers
// beyond it goes as several round trips at once, on several connections.
const maxBatch = 128

// opKind is one of the store's operations.
type opKind uint8

const (
	opClaim opKind = iota
	opComplete
	opRelease
	opRenew
)

var (
	opNames   = [...]string{"claim", "complete", "release", "renew"}
	opScripts = [...]*redis.Script{claimScript, completeScript, releaseScript, renewScript}
)

// opState is where an op is on its way; guarded by batcher.mu.
type opState uint8

const (
	opQueued    opState = iota // waiting for the round trip in flight to end
	opSent                     // in a round trip
	opAbandoned                // its caller's context ended before the reply
	opFinished                 // reply (or error) set, done closed
)

// op is one call of Claim, Complete, Release or Renew on its way to Redis:
// one script call with its keys and arguments, and, once its round trip
// ended, its reply or error.
type op struct {
	ctx   context.Context
	kind  opKind
	c     idempotency.Claim
	token string // a claim's new token
	keys  []string
	args  []any
	// index, for a complete, is the connector's ledger index, to which the
	// round trip adds the record key (see Store.send).
	index string
	zadd  *redis.IntCmd

	// Set by the round trip before done is closed (or, for an op sent by
	// its own caller, before the caller reads them).
	reply any
	err   error
	sent  time.Time // when the round trip began
	batch int       // how many ops went in that round trip
	done  chan struct{}

	state opState
}

// batcher gathers the operations of one store that arrive while a round
// trip is in flight. An operation that finds none in flight is sent at
// once by its caller, alone, with the caller's own context: a lone call
// waits for nothing. An operation that finds one in flight joins the
// queue; when a round trip returns, everything queued goes out at once, as
// one pipeline per maxBatch operations, each on a goroutine of its own. No
// timer is involved.
type batcher struct {
	mu       sync.Mutex
	inflight int   // round trips in flight
	queue    []*op // ops waiting for them

	// Counters, for tests and benchmarks.
	lone, queued, rounds, ops uint64
}

// submit runs o, alone at once or with the next batch, and returns when
// its reply is in o, or with ctx.Err() when ctx ended first (o may still
// run in Redis). The lease of a claim that may have run for nobody (an
// abandoned claim that acquired it, or a claim that failed after it may
// have been sent, such as a lone one whose ctx ended mid-flight) is
// released by finish, best effort.
func (s *Store) submit(ctx context.Context, o *op) error {
	if s.unbatched {
		s.roundTrip(ctx, []*op{o})
		return nil
	}
	b := &s.batch
	b.mu.Lock()
	if b.inflight == 0 {
		b.inflight++
		b.lone++
		b.rounds++
		b.ops++
		o.state = opSent
		b.mu.Unlock()
		s.flush(ctx, []*op{o})
		return nil
	}
	o.done = make(chan struct{})
	b.queue = append(b.queue, o)
	b.queued++
	b.mu.Unlock()
	select {
	case <-o.done:
		return nil
	case <-ctx.Done():
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if o.state == opFinished {
		return nil
	}
	o.state = opAbandoned
	return ctx.Err()
}

// flush runs the round trip of ops and ends it, even if it panics, so
// that the batcher never stays stuck in flight.
func (s *Store) flush(ctx context.Context, ops []*op) {
	defer s.finish(ops)
	s.roundTrip(ctx, ops)
}

// finish ends a round trip: it hands each op its reply, queues a Release
// of each lease a claim may have taken for nobody (see op.leftLease), and
// sends what gathered in the meantime.
func (s *Store) finish(ops []*op) {
	b := &s.batch
	b.mu.Lock()
	for _, o := range ops {
		if o.kind == opClaim && o.leftLease() {
			rel := s.newOp(context.WithoutCancel(o.ctx), opRelease, o.c, o.token)
			b.queue = append(b.queue, rel)
		}
		o.state = opFinished
	}
	b.inflight--
	next := b.take()
	b.mu.Unlock()
	// What gathered goes first, then the callers of ops wake.
	for _, batch := range next {
		go func() {
			// The round trip serves many callers: no single caller's
			// cancellation ends it (each caller stops waiting on its own).
			s.flush(context.WithoutCancel(batch[0].ctx), batch)
		}()
	}
	for _, o := range ops {
		if o.done != nil {
			close(o.done)
		}
	}
}

// leftLease reports whether claim o may have taken a lease whose token
// nobody holds, to be released: it was acquired for a caller who left, or
// it failed after it may have been sent (its caller's context ended
// mid-flight, a read timed out, the connection broke), so that its caller
// got an error, not the token, while the script may have run in Redis. An
// error reply of Redis's took no lease. b.mu is held.
func (o *op) leftLease() bool {
	if o.err != nil {
		var rerr redis.Error
		return !errors.As(o.err, &rerr)
	}
	if o.state != opAbandoned {
		return false
	}
	r, err := o.claimResult()
	return err == nil && r.Status == idempotency.ClaimAcquired
}

// take empties the queue into batches of at most maxBatch ops, skipping
// ops whose callers left, and counts them in flight. b.mu is held.
func (b *batcher) take() [][]*op {
	var out [][]*op
	var cur []*op
	for _, o := range b.queue {
		if o.state != opQueued {
			continue
		}
		o.state = opSent
		if cur == nil {
			cur = make([]*op, 0, min(len(b.queue), maxBatch))
		}
		cur = append(cur, o)
		if len(cur) == maxBatch {
			out = append(out, cur)
			cur = nil
		}
	}
	if cur != nil {
		out = append(out, cur)
	}
	clear(b.queue)
	b.queue = b.queue[:0]
	b.inflight += len(out)
	b.rounds += uint64(len(out))
	for _, batch := range out {
		b.ops += uint64(len(batch))
	}
	return out
}

// roundTrip runs ops in one round trip: one EVALSHA for a lone op, else a
// pipeline of one EVALSHA per op. Each script is atomic on its own, and a
// pipeline needs no common slot: a cluster client splits it per node. Ops
// that met NOSCRIPT (the server's script cache was flushed) did not run;
// they are sent again in full with EVAL, in one more round trip.
func (s *Store) roundTrip(ctx context.Context, ops []*op) {
	start := time.Now()
	for _, o := range ops {
		o.sent, o.batch = start, len(ops)
	}
	cmds := s.send(ctx, ops, false)
	var again []*op
	for i, cmd := range cmds {
		if err := cmd.Err(); redis.HasErrorPrefix(err, "NOSCRIPT") {
			again = append(again, ops[i])
			continue
		}
		ops[i].reply, ops[i].err = cmd.Val(), cmd.Err()
		if z := ops[i].zadd; z != nil && z.Err() != nil && ops[i].err == nil {
			ops[i].err = fmt.Errorf("add the key to the ledger's index: %w", z.Err())
		}
	}
	if len(again) > 0 {
		for i, cmd := range s.send(ctx, again, true) {
			again[i].reply, again[i].err = cmd.Val(), cmd.Err()
		}
	}
}

// send writes one script call per op, by hash, or in full when full is
// set, and reads the replies. A complete also adds its record key to the
// connector's ledger index (ZADD, first sends only), in the same round
// trip but not in the script: the index is in another cluster slot than
// the key's hash.
func (s *Store) send(ctx context.Context, ops []*op, full bool) []*redis.Cmd {
	if len(ops) == 1 && (full || ops[0].index == "") {
		return []*redis.Cmd{eval(ctx, s.client, ops[0], full)}
	}
	pipe := s.client.Pipeline()
	cmds := make([]*redis.Cmd, len(ops))
	for i, o := range ops {
		if o.index != "" && !full {
			o.zadd = pipe.ZAdd(ctx, o.index, redis.Z{Member: o.c.Key})
		}
		cmds[i] = eval(ctx, pipe, o, full)
	}
	_, _ = pipe.Exec(ctx) // each command carries its own error
	return cmds
}

func eval(ctx context.Context, c redis.Scripter, o *op, full bool) *redis.Cmd {
	sc := opScripts[o.kind]
	if full {
		return sc.Eval(ctx, c, o.keys, o.args...)
	}
	return c.EvalSha(ctx, sc.Hash(), o.keys, o.args...)
}
