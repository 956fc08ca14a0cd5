package synclayer

import (
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// Offered routes that nobody joins are all taken by workers, one woken
// after the other (each takes one and wakes the next while more are
// offered), and the workers exit once idle for workerIdle.
func TestRoutePoolWorkersTakeEveryOfferAndExitWhenIdle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		gate := make(chan struct{})
		var ran atomic.Int32
		p := &routePool{run: func(*routeTask) {
			ran.Add(1)
			<-gate
		}}
		idle := func() int {
			p.mu.Lock()
			defer p.mu.Unlock()
			return len(p.idle)
		}
		tasks, wg := newTasks(3)
		p.offer(tasks)
		synctest.Wait()
		if n := ran.Load(); n != 3 {
			t.Fatalf("workers run %d of the 3 offered routes, want all 3 at once", n)
		}
		close(gate)
		wg.Wait()
		synctest.Wait()
		if n := idle(); n != 3 {
			t.Fatalf("%d workers idle after their routes, want 3", n)
		}
		if p.queue.len() != 0 || p.waking {
			t.Fatalf("queue %d, waking %v after every route was taken", p.queue.len(), p.waking)
		}
		time.Sleep(workerIdle)
		synctest.Wait()
		if n := idle(); n != 0 {
			t.Fatalf("%d workers still idle after workerIdle", n)
		}
		// synctest.Test fails if a worker goroutine is left.
	})
}

// A route that join has run is dropped from the queue by the next offer,
// so that a queue no worker looks at holds no finished route for long.
func TestRoutePoolDropsRoutesJoinRan(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := &routePool{run: func(*routeTask) {}}
		p.waking = true // as if a worker were on its way: offers wake none
		for range 100 {
			tasks, wg := newTasks(2)
			p.offer(tasks)
			p.join(tasks, wg)
			if n := p.queue.len(); n > 2 {
				t.Fatalf("queue holds %d routes, want at most the last offer's 2", n)
			}
		}
	})
}

// newTasks returns n tasks to offer together, and the WaitGroup they are
// counted in.
func newTasks(n int) ([]routeTask, *sync.WaitGroup) {
	wg := new(sync.WaitGroup)
	wg.Add(n)
	tasks := make([]routeTask, n)
	for i := range tasks {
		tasks[i].wg = wg
	}
	return tasks, wg
}
