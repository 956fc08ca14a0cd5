package synclayer

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// routePool runs the routes of an event beside the one Dispatch runs on
// its own goroutine: Dispatch offers them to the pool, runs its first
// route, then runs itself each offered route that no worker has taken
// yet, one at a time, and waits only for those a worker took (join).
// Waking a worker and waiting for it cost more than a quick push, so when
// routes are quick, or workers slow to get a core, Dispatch does most of
// the work itself; when a route is slow, the others of its event are not
// held behind it: a woken worker takes the oldest offered route, and wakes
// another while more are offered.
//
// Only one worker is being woken at a time (waking), as the Go scheduler
// does with its spinning threads: an offer made while a worker is on its
// way wakes no other, since that worker, or the ones it wakes, will find
// the offered routes.
//
// Against a goroutine handed every route but the first and waited for
// (the code before), with three no-op connectors, in alternated runs:
// BenchmarkDispatch, one caller, does 19% more events per second (medians
// of 5); internal/bench/watermill's fan-out through Run 25% more (4 runs;
// tuned, 22%); BenchmarkDispatchParallel 5% more (medians of 6, the runs
// overlapping); BenchmarkDispatchOverhead, where the store does nothing
// and there is no log, 48% more (medians of 5: 476,300 and 706,700
// events/s), so the hand-off was a third of the dispatcher's own work.
type routePool struct {
	run func(*routeTask) // runs one route

	mu     sync.Mutex
	queue  fifo[*routeTask] // offered, oldest first; taken ones are dropped lazily
	idle   []*routeWorker   // waiting for work, the most recently idle last
	waking bool             // a worker has been woken and has not looked at queue yet
}

// routeTask is one route of one event, offered to the pool.
type routeTask struct {
	taken atomic.Bool // by a worker or by join: whoever sets it runs the route
	wg    *sync.WaitGroup

	ctx     context.Context
	ev      *Event
	rt      *route
	res     *Result
	fromBus bool
}

// routeWorker is one goroutine of the pool. wake gets a value when the
// worker is taken off idle to look at the queue again.
type routeWorker struct {
	wake  chan struct{}
	timer *time.Timer
}

// workerIdle is how long an idle route worker waits for more work before
// it exits. Reusing a worker saves creating a goroutine and growing its
// stack for every offered route; the short idle time means no goroutine
// outlives a burst of work by more than this.
const workerIdle = 20 * time.Millisecond

// offer queues tasks, each with taken unset, for the workers, and wakes
// one unless one is being woken already. The caller must call join.
func (p *routePool) offer(tasks []routeTask) {
	p.mu.Lock()
	p.dropTaken()
	for i := range tasks {
		p.queue.push(&tasks[i])
	}
	w, wake := p.wakeOne()
	p.mu.Unlock()
	p.start(w, wake)
}

// join runs each task of tasks, offered together, that no worker has
// taken, in order, then waits for those a worker took.
func (p *routePool) join(tasks []routeTask, wg *sync.WaitGroup) {
	for i := range tasks {
		if t := &tasks[i]; t.taken.CompareAndSwap(false, true) {
			p.run(t)
			wg.Done()
		}
	}
	wg.Wait()
}

// dropTaken drops the tasks at the front of the queue that join has taken,
// so that the queue holds no finished task for long when no worker runs.
// p.mu is held.
func (p *routePool) dropTaken() {
	for p.queue.len() > 0 && (*p.queue.front()).taken.Load() {
		p.queue.pop()
	}
}

// wakeOne marks a worker as being woken, unless one is, and takes it off
// idle; w is nil when a new worker is to be started. p.mu is held.
func (p *routePool) wakeOne() (w *routeWorker, wake bool) {
	if p.waking {
		return nil, false
	}
	p.waking = true
	if n := len(p.idle); n > 0 {
		w, p.idle = p.idle[n-1], p.idle[:n-1]
	}
	return w, true
}

// start wakes w, or starts a new worker when w is nil, if wake.
func (p *routePool) start(w *routeWorker, wake bool) {
	switch {
	case !wake:
	case w != nil:
		w.wake <- struct{}{}
	default:
		w = &routeWorker{wake: make(chan struct{}, 1), timer: time.NewTimer(workerIdle)}
		go p.work(w)
	}
}

// work is the loop of worker w, which has just been woken or started.
func (p *routePool) work(w *routeWorker) {
	defer w.timer.Stop()
	woken := true
	for {
		t := p.take(w, woken)
		if t == nil {
			if !p.sleep(w) {
				return
			}
			woken = true
			continue
		}
		woken = false
		p.run(t)
		t.wg.Done()
	}
}

// take returns the oldest task no one has taken, marked taken, and wakes
// another worker when more wait. With none, it puts w on idle and returns
// nil. woken says w was woken (or started) to look.
func (p *routePool) take(w *routeWorker, woken bool) *routeTask {
	p.mu.Lock()
	if woken {
		p.waking = false
	}
	for p.queue.len() > 0 {
		t := *p.queue.front()
		p.queue.pop()
		if t.taken.CompareAndSwap(false, true) {
			p.dropTaken()
			var next *routeWorker
			wake := false
			if p.queue.len() > 0 {
				next, wake = p.wakeOne()
			}
			p.mu.Unlock()
			p.start(next, wake)
			return t
		}
	}
	p.idle = append(p.idle, w)
	p.mu.Unlock()
	return nil
}

// sleep waits on idle for w to be woken, and reports whether it was; after
// workerIdle without, it takes w off idle and reports false, and the
// worker exits.
func (p *routePool) sleep(w *routeWorker) bool {
	w.timer.Reset(workerIdle)
	select {
	case <-w.wake:
		return true
	case <-w.timer.C:
	}
	p.mu.Lock()
	i := slices.Index(p.idle, w)
	if i >= 0 {
		p.idle = slices.Delete(p.idle, i, i+1)
	}
	p.mu.Unlock()
	if i < 0 {
		<-w.wake // taken off idle by wakeOne just as the timer fired
		return true
	}
	return false
}
