package synclayer

import (
	"context"
	"testing"
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
