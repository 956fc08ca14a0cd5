package synclayer

import (
	"context"
	"hash/maphash"
	"sync"
	"time"
)

// keyLocks serialises work on one record key inside a process: at most one
// holder per key, and waiters are served in arrival order. Entries exist only
// while a key is held, so memory follows the work in flight, not the key
// space.
//
// A waiter from the bus ([Dispatcher.Run]'s handler, lockFor) does not
// wait in line for another process's lease: while the holder polls such a
// lease (busyElsewhere, until notBusy or unlock), the bus waiters already in
// line are turned away, and bus arrivals are turned away at once, with the
// busy key's redelivery request (busyErr), as a bus route that found the
// lease itself would be after busyWait. They would otherwise hold their
// handler slots for as long as the lease lives, behind a Dispatch, a Resync
// or a drain that may wait that long. Local waiters keep their place, so
// those still in line are served in arrival order. Work of this process
// (a holder pushing to a slow partner) is waited for by every waiter: it
// ends without anyone else's lease running out, and turning the bus away
// from it would only reorder the key's events.
type keyLocks struct {
	seed   maphash.Seed
	shards [16]keyShard
}

type keyShard struct {
	mu sync.Mutex
	m  map[string]*keyLock
	// busyUntil holds, for each key whose holder polls another process's
	// lease, when that lease runs out. It is apart from keyLock, so the
	// entry a free key's lock allocates stays as small as it was.
	busyUntil map[string]time.Time
}

type keyLock struct {
	refs    int32       // holder + waiters
	busy    bool        // the holder polls another process's lease (busyUntil)
	waiters []keyWaiter // FIFO
}

// keyWaiter is one place in a key's line. A nil sent on turn hands the
// lock over; an error turns a bus waiter away without it.
type keyWaiter struct {
	turn chan error // buffered: the sender never waits
	bus  bool
}

func (l *keyLocks) init() {
	l.seed = maphash.MakeSeed()
	for i := range l.shards {
		l.shards[i].m = make(map[string]*keyLock)
	}
}

func (l *keyLocks) shard(key string) *keyShard {
	return &l.shards[maphash.String(l.seed, key)%uint64(len(l.shards))]
}

// lock waits for key. It returns ctx's error if ctx ends first, and then
// does not hold the key.
func (l *keyLocks) lock(ctx context.Context, key string) error {
	return l.lockFor(ctx, key, false)
}

// lockFor is lock for a route from the bus when fromBus is set. Such a
// route is also refused the key, with a redelivery request for a busy key
// (busyErr), when the key's holder waits for another process's lease, or
// begins to while the route waits.
func (l *keyLocks) lockFor(ctx context.Context, key string, fromBus bool) error {
	sh := l.shard(key)
	sh.mu.Lock()
	kl := sh.m[key]
	if kl == nil {
		kl = new(keyLock)
		sh.m[key] = kl
	}
	if kl.refs == 0 {
		kl.refs = 1
		sh.mu.Unlock()
		return nil
	}
	if fromBus && kl.busy {
		until := sh.busyUntil[key]
		sh.mu.Unlock()
		return busyErr(until, time.Until(until))
	}
	kl.refs++
	w := keyWaiter{turn: make(chan error, 1), bus: fromBus}
	kl.waiters = append(kl.waiters, w)
	sh.mu.Unlock()

	select {
	case err := <-w.turn:
		return err
	case <-ctx.Done():
	}
	sh.mu.Lock()
	select {
	case err := <-w.turn:
		sh.mu.Unlock()
		if err == nil {
			// Handed over just as ctx ended: we hold it, so pass it on.
			l.unlock(key)
		}
		return ctx.Err()
	default:
	}
	for i, o := range kl.waiters {
		if o.turn == w.turn {
			kl.waiters = append(kl.waiters[:i], kl.waiters[i+1:]...)
			break
		}
	}
	kl.refs--
	sh.mu.Unlock()
	return ctx.Err()
}

// unlock releases key, handing it to the longest waiter if there is one.
func (l *keyLocks) unlock(key string) {
	sh := l.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	kl := sh.m[key]
	kl.refs--
	if kl.busy {
		kl.busy = false
		delete(sh.busyUntil, key)
	}
	if len(kl.waiters) > 0 {
		next := kl.waiters[0]
		copy(kl.waiters, kl.waiters[1:])
		kl.waiters[len(kl.waiters)-1] = keyWaiter{}
		kl.waiters = kl.waiters[:len(kl.waiters)-1]
		next.turn <- nil
		return
	}
	if kl.refs == 0 {
		delete(sh.m, key)
	}
}

// busyElsewhere tells key's line that its holder, the caller, waits for
// another process's lease on the key, which runs until expires: the bus
// waiters leave the line with a redelivery request, and bus arrivals are
// turned away, until notBusy or unlock.
func (l *keyLocks) busyElsewhere(key string, expires time.Time) {
	sh := l.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	kl := sh.m[key]
	kl.busy = true
	if sh.busyUntil == nil {
		sh.busyUntil = make(map[string]time.Time)
	}
	sh.busyUntil[key] = expires
	kept := kl.waiters[:0]
	for _, w := range kl.waiters {
		if !w.bus {
			kept = append(kept, w)
			continue
		}
		kl.refs--
		w.turn <- busyErr(expires, time.Until(expires))
	}
	clear(kl.waiters[len(kept):])
	kl.waiters = kept
}

// notBusy tells key's line that its holder, the caller, no longer waits
// for another process's lease.
func (l *keyLocks) notBusy(key string) {
	sh := l.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	sh.m[key].busy = false
	delete(sh.busyUntil, key)
}
