package deliver

import (
	"sync"
	"sync/atomic"
	"testing"

	"go.uber.org/goleak"
)

// A thousand calls, one after another, run on the pool's few goroutines.
func TestPoolReusesItsGoroutines(t *testing.T) {
	defer goleak.VerifyNone(t)
	p := NewPool(4)
	done := make(chan struct{})
	for range 1000 {
		p.Go(func() { done <- struct{}{} })
		<-done
	}
	p.Close()
	if n := p.n.Load(); n < 1 || n > 4 {
		t.Fatalf("%d goroutines started for 1,000 calls, want 1 to 4", n)
	}
}

// With every goroutine busy, a call waits for one to finish: no more than
// size calls ever run at once, and all of them run.
func TestPoolRunsAtMostSizeCallsAtOnce(t *testing.T) {
	defer goleak.VerifyNone(t)
	p := NewPool(3)
	gate := make(chan struct{})
	var running, most, ran atomic.Int32
	started := make(chan struct{}, 10)
	call := func() {
		n := running.Add(1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		started <- struct{}{}
		<-gate
		running.Add(-1)
		ran.Add(1)
	}
	for range 3 {
		p.Go(call)
	}
	for range 3 {
		<-started
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		for range 7 {
			p.Go(call) // each waits until a goroutine is free
		}
	})
	close(gate)
	wg.Wait()
	p.Close()
	if ran.Load() != 10 || most.Load() != 3 || p.n.Load() != 3 {
		t.Fatalf("ran %d calls, at most %d at once, on %d goroutines; want 10, 3, 3", ran.Load(), most.Load(), p.n.Load())
	}
}

// Close returns once the calls in flight have returned, with no goroutine
// of the pool left.
func TestPoolCloseWaitsForCallsInFlight(t *testing.T) {
	defer goleak.VerifyNone(t)
	p := NewPool(2)
	gate := make(chan struct{})
	var finished atomic.Bool
	in := make(chan struct{})
	p.Go(func() {
		close(in)
		<-gate
		finished.Store(true)
	})
	<-in
	closed := make(chan struct{})
	go func() {
		p.Close()
		close(closed)
	}()
	select {
	case <-closed:
		t.Fatal("Close returned while a call was still running")
	default:
	}
	close(gate)
	<-closed
	if !finished.Load() {
		t.Fatal("Close returned before the call in flight finished")
	}
}
