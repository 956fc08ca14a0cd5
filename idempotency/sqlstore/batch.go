package sqlstore

import (
	"context"
	"sync"

	"github.com/hmsplatform/synclayer/idempotency"
)

// opKind is the kind of a store call, and of the lane it goes through.
type opKind int

const (
	opClaim opKind = iota
	opComplete
	opRelease
	opRenew
	opPut // Log.Put
	nKinds
)

var opNames = [...]string{opClaim: "claim", opComplete: "complete", opRelease: "release", opRenew: "renew", opPut: "put"}

// op is one call waiting in a lane: its input, and the result the batch
// that carries it fills in.
type op struct {
	kind  opKind
	c     idempotency.Claim
	kid   []byte
	eid   []byte
	token string // claim: the fresh token; otherwise the caller's

	// A logged complete (CompleteLogged) or a Log.Put.
	log     *Log
	logArgs []any
	logID   string

	// Results, set by the batch before done is closed.
	res idempotency.ClaimResult
	ok  bool // renew: the lease was extended
	err error

	done  chan struct{}
	batch *batchState // set under the lane's lock when a batch takes the op
	// gone: the caller left (lane's lock). Before a batch took the op, the
	// op is not sent; after, the lane's left sees it (a claim's lease).
	gone bool
}

// batchState is one batch in flight: its context ends once every caller in
// it has left, so that a batch nobody waits for does not hold a connection.
type batchState struct {
	live   int
	cancel context.CancelFunc
}

// lane gathers the concurrent calls of one kind and sends them as one
// statement per round trip: a call that finds the lane idle starts a batch
// at once (no timer); calls that arrive while a batch is in flight wait in
// pending and leave together, up to max, as soon as one returns. A lane
// has at most inflight batches in flight, so it uses at most that many
// connections.
type lane struct {
	kind     opKind
	max      int
	inflight int
	run      func(ctx context.Context, ops []*op) error // fills each op's result
	// retry runs the batch again after errors the database rolled back.
	retry func(ctx context.Context, f func() error) error
	// after, if set, is called after each batch (pool checks).
	after func()
	// left, if set, is called after a batch that succeeded with its calls
	// whose callers left while it ran, before the lane's next batch.
	left func(ops []*op)
	// failed, if set, is called after a batch that failed with its calls
	// and its error, before the lane's next batch.
	failed func(ops []*op, err error)

	mu      sync.Mutex
	pending []*op
	running int // batches in flight
}

// do sends o through the lane and waits for its batch, or for ctx. A
// caller whose ctx ends gets ctx's error; a batch already sent is not
// undone (but see lane.left).
func (l *lane) do(ctx context.Context, o *op) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	o.done = make(chan struct{})
	l.mu.Lock()
	l.pending = append(l.pending, o)
	start := l.running < max(l.inflight, 1)
	if start {
		l.running++
	}
	l.mu.Unlock()
	if start {
		go l.loop()
	}
	select {
	case <-o.done:
		return o.err
	case <-ctx.Done():
	}
	l.mu.Lock()
	select {
	case <-o.done: // the answer came at the same time (closed under the lock): keep it
		l.mu.Unlock()
		return o.err
	default:
	}
	if b := o.batch; b != nil {
		b.live--
		if b.live == 0 {
			b.cancel()
		}
	}
	o.gone = true
	l.mu.Unlock()
	return ctx.Err()
}

// loop sends batches until no call is pending.
func (l *lane) loop() {
	for {
		l.mu.Lock()
		ops := l.take()
		if len(ops) == 0 {
			l.running--
			l.mu.Unlock()
			return
		}
		ctx, cancel := context.WithCancel(context.Background())
		b := &batchState{live: len(ops), cancel: cancel}
		for _, o := range ops {
			o.batch = b
		}
		l.mu.Unlock()

		err := l.retry(ctx, func() error { return l.run(ctx, ops) })
		cancel()
		var left []*op
		l.mu.Lock() // a caller leaving decides under it whether it got its answer
		for _, o := range ops {
			if err != nil {
				o.err = err
			}
			if o.gone && err == nil {
				left = append(left, o)
			}
			close(o.done)
		}
		l.mu.Unlock()
		if len(left) > 0 && l.left != nil {
			l.left(left)
		}
		if err != nil && l.failed != nil {
			l.failed(ops, err)
		}
		if l.after != nil {
			l.after()
		}
	}
}

// take removes the next batch from pending, in arrival order: up to max
// calls, skipping those whose caller left, and never two calls on the same
// row (the same connector and key, or the same log entry), which wait for
// the next batch. A batch of logged completes writes to one log.
func (l *lane) take() []*op {
	if len(l.pending) == 0 {
		return nil
	}
	var (
		ops  []*op
		rest = l.pending[:0:0]
		rows map[string]bool
		log  *Log
	)
	if len(l.pending) > 1 {
		rows = make(map[string]bool, min(len(l.pending), l.max))
	}
	for i, o := range l.pending {
		if o.gone {
			continue
		}
		if len(ops) == l.max {
			rest = append(rest, l.pending[i:]...)
			break
		}
		if rows != nil {
			k := string(o.kid)
			if o.kind == opPut {
				k = o.logID
			}
			if rows[k] || (o.logID != "" && o.kind != opPut && rows["l"+o.logID]) || (o.log != nil && log != nil && o.log != log && o.kind != opPut) {
				rest = append(rest, o)
				continue
			}
			rows[k] = true
			if o.logID != "" && o.kind != opPut {
				rows["l"+o.logID] = true
			}
		}
		if o.log != nil && o.kind != opPut {
			log = o.log
		}
		ops = append(ops, o)
	}
	clear(l.pending)
	l.pending = rest
	return ops
}
