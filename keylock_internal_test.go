package synclayer

import (
	"context"
	"fmt"
	"testing"
	"testing/synctest"
	"time"
)

func waiters(l *keyLocks, key string) int {
	sh := l.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if kl := sh.m[key]; kl != nil {
		return len(kl.waiters)
	}
	return 0
}

// Waiters for one key are served in arrival order, and a waiter whose
// context ends leaves the line without taking or losing the lock.
func TestKeyLocksFIFO(t *testing.T) {
	var l keyLocks
	l.init()
	ctx := t.Context()
	if err := l.lock(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	order := make(chan int, 5)
	cctx, cancel := context.WithCancel(ctx)
	for i := range 5 {
		c := ctx
		if i == 2 {
			c = cctx
		}
		go func() {
			if err := l.lock(c, "k"); err != nil {
				order <- -1
				return
			}
			order <- i
			l.unlock("k")
		}()
		for waiters(&l, "k") != i+1 { // arrival: wait until it is in line
			time.Sleep(time.Millisecond)
		}
	}
	cancel()
	if got := <-order; got != -1 {
		t.Fatalf("cancelled waiter: got %d, want -1", got)
	}
	l.unlock("k")
	for _, want := range []int{0, 1, 3, 4} {
		if got := <-order; got != want {
			t.Fatalf("served %d, want %d", got, want)
		}
	}
	sh := l.shard("k")
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if len(sh.m) != 0 {
		t.Fatalf("%d lock entries left after all released", len(sh.m))
	}
}

// lockWithin locks key, which must be granted within a minute of bubble
// time. A lock that would wait forever ends the test binary at once with a
// panic: every dispatch takes key locks, so the examples, which run even
// after a failure under -failfast, would otherwise hang until the binary's
// timeout, and the failure would read as a timeout.
func lockWithin(l *keyLocks, key string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := l.lock(ctx, key); err != nil {
		panic(fmt.Sprintf("lock %q of a free key: %v; the key lock's counts are broken", key, err))
	}
}

// The key lock's counts: a free key is granted at once, as often as it is
// released; a holder's release hands it to its waiter; and once nobody
// holds or waits, no entry is left.
func TestKeyLocksBookkeeping(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var l keyLocks
		l.init()
		for range 3 { // a free key, then the same key again once released
			lockWithin(&l, "a")
			l.unlock("a")
		}
		if n := entries(&l); n != 0 {
			t.Fatalf("%d entries after every lock was released, want 0", n)
		}

		lockWithin(&l, "a")
		got := make(chan error, 1)
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			got <- l.lock(ctx, "a")
		}()
		synctest.Wait() // the second locker waits in line
		if n := waiters(&l, "a"); n != 1 {
			t.Fatalf("%d waiters, want 1", n)
		}
		l.unlock("a")
		if err := <-got; err != nil {
			panic(fmt.Sprintf("waiter: %v; want the lock handed over", err))
		}
		l.unlock("a")
		lockWithin(&l, "a") // free again after the handover
		l.unlock("a")
		if n := entries(&l); n != 0 {
			t.Fatalf("%d entries after every lock was released, want 0", n)
		}
	})
}

func entries(l *keyLocks) int {
	n := 0
	for i := range l.shards {
		sh := &l.shards[i]
		sh.mu.Lock()
		n += len(sh.m)
		sh.mu.Unlock()
	}
	return n
}
