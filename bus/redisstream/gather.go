package redisstream

import (
	"context"
	"sync"

	"github.com/redis/go-redis/v9"
)

// The Publish calls of one Bus commit as a group. A call that finds no
// XADD in flight sends its own at once, alone, under its own context: a
// lone publisher waits for nothing. A call that finds one in flight joins
// a queue, and when the round trip in flight returns, everything queued
// goes out as one pipeline. There is no timer: the batch is whatever
// gathered during one round trip. Under a Dispatcher's Run, where every
// handler publishes its event's announcement, this turns hundreds of
// XADD round trips (each a read, a parse and a reply in Redis's single
// thread) into a few pipelines.

// outgoing is one Publish call on its way to Redis.
type outgoing struct {
	ctx  context.Context
	args *redis.XAddArgs

	// Set by the round trip before done is closed (or, for a lone call,
	// before its caller reads it).
	err   error
	done  chan struct{}
	state sendState // guarded by gathering.mu
}

// sendState is where an outgoing call is on its way.
type sendState uint8

const (
	sendQueued    sendState = iota // waiting for the round trip in flight
	sendSent                       // in a round trip
	sendAbandoned                  // its caller's context ended while queued: never sent
)

// gathering holds the Publish calls queued behind the round trip in
// flight. At most one round trip of Publish calls is in flight at a time.
type gathering struct {
	mu       sync.Mutex
	inflight bool
	queue    []*outgoing

	// rounds and calls count round trips and the calls they carried, for
	// tests and benchmarks.
	rounds, calls uint64
	// beforeSend, when set (by tests), runs before each round trip.
	beforeSend func(n int)
}

// send publishes o alone at once, or with the next pipeline. It returns
// when o.err holds the outcome, or with ctx's error if ctx ends while o
// waits (o is then either never sent, or already on its way and may be
// stored).
func (b *Bus) send(ctx context.Context, o *outgoing) error {
	g := &b.gather
	g.mu.Lock()
	if !g.inflight {
		g.inflight = true
		g.rounds++
		g.calls++
		o.state = sendSent
		g.mu.Unlock()
		b.flush(ctx, []*outgoing{o})
		return nil
	}
	o.done = make(chan struct{})
	g.queue = append(g.queue, o)
	g.mu.Unlock()
	select {
	case <-o.done:
		return nil
	case <-ctx.Done():
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if o.state == sendQueued {
		o.state = sendAbandoned
	}
	return ctx.Err()
}

// flush runs one round trip and ends it, even if it panics, so that the
// gathering never stays in flight for good.
func (b *Bus) flush(ctx context.Context, os []*outgoing) {
	defer b.finish(os)
	if hook := b.gather.beforeSend; hook != nil {
		hook(len(os))
	}
	if len(os) == 1 {
		os[0].err = b.rdb.XAdd(ctx, os[0].args).Err()
		return
	}
	cmds := b.xadds(ctx, os)
	for i, o := range os {
		o.err = cmds[i].Err()
	}
}

// xadds sends one XADD per call in one pipeline and returns their
// commands, each with its own reply or error.
func (b *Bus) xadds(ctx context.Context, os []*outgoing) []*redis.StringCmd {
	cmds := make([]*redis.StringCmd, len(os))
	p := b.rdb.Pipeline()
	for i, o := range os {
		cmds[i] = p.XAdd(ctx, o.args)
	}
	_, _ = p.Exec(ctx) // each command holds its own error
	return cmds
}

// finish ends a round trip: what gathered meanwhile goes out as the next
// one, then the callers of os wake.
func (b *Bus) finish(os []*outgoing) {
	g := &b.gather
	g.mu.Lock()
	var next []*outgoing
	for _, o := range g.queue {
		if o.state == sendQueued {
			o.state = sendSent
			next = append(next, o)
		}
	}
	clear(g.queue)
	g.queue = g.queue[:0]
	g.inflight = len(next) > 0
	if g.inflight {
		g.rounds++
		g.calls += uint64(len(next))
	}
	g.mu.Unlock()
	if len(next) > 0 {
		// The round trip serves many callers: no single caller's
		// cancellation ends it (each caller stops waiting on its own).
		go b.flush(context.WithoutCancel(next[0].ctx), next)
	}
	for _, o := range os {
		if o.done != nil {
			close(o.done)
		}
	}
}
