package sqlstore

import (
	"database/sql"
	"errors"
	"fmt"
	"sync"
)

// BatchConns returns how many connections a [Store]'s batches use at most
// at once with k batches in flight per kind of call (see [WithInflight];
// default 2): 4*k, one per batch of claims, completes, releases and
// renews. In steady use mostly claims and completes are in flight, 2*k
// connections. A [Log] uses up to its own [WithInflight] more (two by
// default) for its puts, which a Store does not count.
func BatchConns(k int) int { return 4 * max(k, 1) }

// Warnings given through [WithWarn].
var (
	// ErrPoolTooSmall: the pool's MaxOpenConns is below the [BatchConns]
	// of a Store with group commit on: batches of different kinds wait
	// for each other's connections, and the application's own queries
	// wait for them. A [Log] does not check its pool, and a Store does
	// not count a Log's connections.
	ErrPoolTooSmall = errors.New("sqlstore: the pool has fewer connections than the batches use")
	// ErrPoolChurn: the pool closed connections because more were idle
	// than MaxIdleConns allows (default 2), so new ones are opened again
	// and again; raise MaxIdleConns to at least MaxOpenConns, or to
	// [BatchConns] plus what the application uses.
	ErrPoolChurn = errors.New("sqlstore: the pool closes and reopens connections (MaxIdleConns too low)")
)

// poolWatch checks the caller's pool, without changing it. database/sql
// does not expose MaxIdleConns, so churn is seen after the fact, through
// the pool's count of connections closed for exceeding it.
type poolWatch struct {
	db   *sql.DB
	warn func(error)

	mu       sync.Mutex
	batches  int
	closed   int64 // MaxIdleClosed at the last check (-1: not yet read)
	started  bool
	churned  bool
	tooSmall bool
}

// churnEvery is how many batches pass between two looks at the pool.
const churnEvery = 256

// check warns once if the pool's MaxOpenConns is below need.
func (p *poolWatch) check(need int) {
	if p.warn == nil {
		return
	}
	if m := p.db.Stats().MaxOpenConnections; m > 0 && m < need {
		p.mu.Lock()
		first := !p.tooSmall
		p.tooSmall = true
		p.mu.Unlock()
		if first {
			p.warn(fmt.Errorf("%w: MaxOpenConns is %d, the batches use up to %d", ErrPoolTooSmall, m, need))
		}
	}
}

// after counts a batch, and every churnEvery batches looks whether the
// pool closed idle connections since the last look.
func (p *poolWatch) after() {
	if p.warn == nil {
		return
	}
	p.mu.Lock()
	p.batches++
	look := p.batches%churnEvery == 1 && !p.churned
	p.mu.Unlock()
	if !look {
		return
	}
	closed := p.db.Stats().MaxIdleClosed
	p.mu.Lock()
	diff := closed - p.closed
	churn := p.started && diff > churnEvery/16
	p.closed, p.started = closed, true
	first := churn && !p.churned
	p.churned = p.churned || churn
	p.mu.Unlock()
	if first {
		p.warn(fmt.Errorf("%w: %d connections closed over the last %d batches", ErrPoolChurn, diff, churnEvery))
	}
}
