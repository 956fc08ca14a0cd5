package synclayer

import (
	"context"
	"hash/maphash"
	"sync"
)

// keyLocks serialises work on one record key inside a process: at most one
// holder per key, and waiters are served in arrival order. Entries exist only
// while a key is held, so memory follows the work in flight, not the key
// space.
type keyLocks struct {
	seed   maphash.Seed
	shards [16]keyShard
}

type keyShard struct {
	mu sync.Mutex
	m  map[string]*keyLock
}

type keyLock struct {
	refs    int             // holder + waiters
	waiters []chan struct{} // FIFO; closing one hands the lock over
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
	sh := l.shard(key)
	sh.mu.Lock()
	kl := sh.m[key]
	if kl == nil {
		kl = new(keyLock)
		sh.m[key] = kl
	}
	kl.refs++
	if kl.refs == 1 {
		sh.mu.Unlock()
		return nil
	}
	ch := make(chan struct{})
	kl.waiters = append(kl.waiters, ch)
	sh.mu.Unlock()

	select {
	case <-ch:
		return nil
	case <-ctx.Done():
	}
	sh.mu.Lock()
	select {
	case <-ch:
		// Handed over just as ctx ended: we hold it, so pass it on.
		sh.mu.Unlock()
		l.unlock(key)
		return ctx.Err()
	default:
	}
	for i, w := range kl.waiters {
		if w == ch {
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
	if len(kl.waiters) > 0 {
		next := kl.waiters[0]
		copy(kl.waiters, kl.waiters[1:])
		kl.waiters[len(kl.waiters)-1] = nil
		kl.waiters = kl.waiters[:len(kl.waiters)-1]
		close(next)
		return
	}
	if kl.refs == 0 {
		delete(sh.m, key)
	}
}
