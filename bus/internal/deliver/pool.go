package deliver

import (
	"sync"
	"sync/atomic"
)

// Pool runs a subscriber's handler calls on at most size goroutines. A
// goroutine that finishes a call waits, parked, for the next one until
// [Pool.Close], instead of exiting. A handler call runs deep (decoding, the
// dispatcher, a store's client, the broker client's ack): a new goroutine
// per message starts with a small stack and grows it by copying on every
// call. A kept goroutine has its stack grown already.
//
// It pays where that copying is a large share of the work, and only there:
// BenchmarkDurable, alternated with the goroutine per message in the same
// run (5 pairs each), the NATS bus went +12% with the memory store and
// +2.4% with PostgreSQL, ahead in every pair, and stack copying fell from
// 6% to 1% of the subscriber's CPU. Redis Streams gained 2%, within the
// noise, and RabbitMQ lost 8% (3 pairs, behind in each; the cause was
// not found), so those buses still start a goroutine per message.
//
// Callers bound their calls by size themselves (a bus holds one of size
// handler slots for each call it hands to Go), so a call never waits long
// for a goroutine. Go may be called from several goroutines, but not after
// Close.
type Pool struct {
	size  int32
	calls chan func()
	n     atomic.Int32 // goroutines started
	wg    sync.WaitGroup
}

// NewPool returns a pool of at most size goroutines (at least one), none
// started yet.
func NewPool(size int) *Pool {
	return &Pool{size: int32(max(size, 1)), calls: make(chan func())}
}

// Go runs fn on a parked goroutine of the pool, or on a new one while the
// pool has fewer than its size, or else on the first goroutine to finish
// its call.
func (p *Pool) Go(fn func()) {
	select {
	case p.calls <- fn:
		return
	default:
	}
	if p.n.Add(1) <= p.size {
		p.wg.Go(func() { p.run(fn) })
		return
	}
	p.n.Add(-1)
	p.calls <- fn
}

func (p *Pool) run(fn func()) {
	for ok := true; ok; fn, ok = <-p.calls {
		fn()
	}
}

// Close waits for the calls in flight to return, then ends the pool's
// goroutines.
func (p *Pool) Close() {
	close(p.calls)
	p.wg.Wait()
}
