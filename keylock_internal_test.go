package synclayer

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
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
	var wg sync.WaitGroup
	for i := range 5 {
		c := ctx
		if i == 2 {
			c = cctx
		}
		wg.Go(func() {
			if err := l.lock(c, "k"); err != nil {
				order <- -1
				return
			}
			order <- i
			l.unlock("k")
		})
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
	wg.Wait() // the last one served unlocks after it says so
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
		n += len(sh.m) + len(sh.busyUntil)
		sh.mu.Unlock()
	}
	return n
}

// While the holder of a key waits for another process's lease, the bus
// waiters leave the line with a redelivery request for a busy key, bus
// arrivals are refused at once, and the local waiters keep their places
// and their order. Once the holder has the lease (notBusy), or hands the
// key on, bus arrivals wait in line again.
func TestKeyLocksTurnBusAwayWhileHolderWaitsForAnotherProcess(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var l keyLocks
		l.init()
		lockWithin(&l, "k")
		type outcome struct {
			name string
			err  error
		}
		got := make(chan outcome, 8)
		enqueue := func(name string, fromBus bool) {
			go func() {
				err := l.lockFor(context.Background(), "k", fromBus)
				got <- outcome{name, err}
				if err == nil {
					l.unlock("k")
				}
			}()
			synctest.Wait() // in line
		}
		enqueue("local1", false)
		enqueue("bus1", true)
		enqueue("local2", false)
		enqueue("bus2", true)
		if n := waiters(&l, "k"); n != 4 {
			t.Fatalf("%d waiters, want 4", n)
		}

		expires := time.Now().Add(time.Minute)
		l.busyElsewhere("k", expires)
		turned := map[string]bool{}
		for range 2 { // both at once, in no particular order
			o := <-got
			after, ok := RedeliverAfter(o.err)
			if !ok || !errors.Is(o.err, errKeyBusy) || after <= 0 || after > 2*maxBusyRedelay ||
				!strings.Contains(o.err.Error(), expires.UTC().Format(time.RFC3339Nano)) {
				t.Fatalf("%s: %v; want it turned away with a redelivery request naming the lease's end", o.name, o.err)
			}
			turned[o.name] = true
		}
		if !turned["bus1"] || !turned["bus2"] {
			t.Fatalf("turned away %v, want bus1 and bus2", turned)
		}
		if n := waiters(&l, "k"); n != 2 {
			t.Fatalf("%d waiters left, want the 2 local ones", n)
		}
		if err := l.lockFor(context.Background(), "k", true); !errors.Is(err, errKeyBusy) {
			t.Fatalf("bus arrival while the holder waits for another process: %v, want errKeyBusy", err)
		}

		l.notBusy("k")
		enqueue("bus3", true) // the holder's own work now: waits
		l.busyElsewhere("k", expires)
		if o := <-got; o.name != "bus3" || !errors.Is(o.err, errKeyBusy) {
			t.Fatalf("%s: %v; want bus3 turned away again", o.name, o.err)
		}
		l.notBusy("k")
		enqueue("bus4", true)
		l.unlock("k")
		for _, want := range []string{"local1", "local2", "bus4"} {
			if o := <-got; o.name != want || o.err != nil {
				t.Fatalf("served %s (%v), want %s holding the key", o.name, o.err, want)
			}
		}
		if n := entries(&l); n != 0 {
			t.Fatalf("%d entries after every lock was released, want 0", n)
		}

		// A holder that hands the key on while marked busy leaves no mark
		// for the next holder.
		lockWithin(&l, "k")
		handed, done := make(chan struct{}), make(chan struct{})
		go func() {
			lockWithin(&l, "k")
			close(handed)
			<-done
			l.unlock("k")
		}()
		synctest.Wait()
		l.busyElsewhere("k", expires)
		l.unlock("k")
		<-handed
		enqueue("bus5", true)
		close(done)
		if o := <-got; o.name != "bus5" || o.err != nil {
			t.Fatalf("%s: %v; want bus5 to wait for the next holder and take the key", o.name, o.err)
		}
		if n := entries(&l); n != 0 {
			t.Fatalf("%d entries after every lock was released, want 0", n)
		}
	})
}
