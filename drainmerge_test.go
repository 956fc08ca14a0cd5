package synclayer_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/synclayertest"
)

// A route queued behind its key's pending entries asks for a drain, since
// a drain at work may have listed before its entry was written. A burst of
// such routes must not start a drain each: requests merge into a drain
// that still waits for its turn, and while a drain again of entries left
// pending is already due (the store did not answer), they wait for it
// rather than ask the store again at once.

// drainListLog is a durableLog that counts the drains' lists of pending
// entries (a connector-wide list of more than one entry).
type drainListLog struct {
	durableLog
	mu    sync.Mutex
	lists int
}

func (l *drainListLog) List(ctx context.Context, f synclayer.DeliveryFilter) ([]synclayer.Delivery, error) {
	if f.Key == "" && f.EventID == "" && f.Limit > 1 {
		l.mu.Lock()
		l.lists++
		l.mu.Unlock()
	}
	return l.durableLog.List(ctx, f)
}

func (l *drainListLog) drainLists() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lists
}

// With the store down, 30 new events of 20 keys with pending entries
// queue behind them without a claim of those entries each: the drain
// again that the failed Resume scheduled tries each entry once, a second
// later.
func TestQueuedRoutesWaitForTheDrainRetryWhileTheStoreIsDown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := newClaimFails()
		d, fakes, h := pausedRunOnStore(t, store)
		ctx := context.Background()
		held := make([]string, 20)
		for i := range held {
			held[i] = fmt.Sprintf("e%d", i)
			if err := h(ctx, event(held[i], fmt.Sprintf("K%d", i), 1)); err != nil {
				t.Fatalf("held route of %s in a durable log: %v, want an ack", held[i], err)
			}
			store.set(held[i], true)
		}
		res, _ := d.Resume(ctx, "p0")
		if len(res) != len(held) {
			t.Fatalf("Resume with the store down: %d results, want %d", len(res), len(held))
		}
		claims := func() (n int) {
			for _, id := range held {
				n += store.claimsOf(id)
			}
			return n
		}
		before := claims()

		for i := range 30 {
			id := fmt.Sprintf("n%d", i)
			store.set(id, true)
			if err := h(ctx, event(id, fmt.Sprintf("K%d", i%len(held)), 2)); err != nil {
				t.Fatalf("route of %s queued behind its key: %v, want an ack", id, err)
			}
		}
		synctest.Wait()
		if n := claims() - before; n != 0 {
			t.Fatalf("30 routes queued behind pending entries made %d claims of those entries before the drain again was due, want 0", n)
		}
		if e := entryOf(t, d, "n0"); e.State != synclayer.StatusPending {
			t.Fatalf("n0 is %v, want pending behind e0", e.State)
		}

		time.Sleep(time.Second)
		synctest.Wait()
		if n := claims() - before; n != len(held) {
			t.Fatalf("the drain again claimed the held entries %d times, want each once (%d)", n, len(held))
		}

		// The store is back: the next drain again pushes everything, each
		// key's events in order.
		for i := range held {
			store.set(held[i], false)
		}
		for i := range 30 {
			store.set(fmt.Sprintf("n%d", i), false)
		}
		time.Sleep(time.Minute)
		synctest.Wait()
		for i := range held {
			key := fmt.Sprintf("K%d", i)
			if r, ok := fakes[0].Record(key); !ok || r.Version != 2 {
				t.Fatalf("partner has %s at %+v (found %v), want version 2", key, r, ok)
			}
		}
	})
}

// While a drain pushes (here, the first entry's push hangs), routes queued
// behind their keys ask for drains; at most one waits for its turn, and it
// pushes every one of them once the first drain ends.
func TestQueuedDrainRequestsMerge(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		log := &drainListLog{durableLog: durableLog{new(synclayer.MemoryLog)}}
		reg, fakes := newFakes(t, 1)
		d := synclayertest.NewDispatcher(t, reg, synclayer.WithObserver(synclayer.NoObserver), synclayer.WithDeliveryLog(log))
		must(t, d.Pause("p0"))
		h, stop := runHandler(t, d)
		defer stop()
		ctx := context.Background()
		for i := range 5 {
			if err := h(ctx, event(fmt.Sprintf("e%d", i), fmt.Sprintf("K%d", i), 1)); err != nil {
				t.Fatalf("held route: %v, want an ack", err)
			}
		}
		release := fakes[0].Hold()
		resumed := make(chan []synclayer.Result, 1)
		go func() {
			res, _ := d.Resume(ctx, "p0")
			resumed <- res
		}()
		synctest.Wait() // the drain's first push hangs at the partner
		listsBefore := log.drainLists()

		for i := range 30 {
			if err := h(ctx, event(fmt.Sprintf("n%d", i), fmt.Sprintf("K%d", i%5), int64(2+i/5))); err != nil {
				t.Fatalf("route queued behind its key: %v, want an ack", err)
			}
		}
		synctest.Wait()
		release()
		if res := <-resumed; len(res) < 5 {
			t.Fatalf("Resume pushed %d entries, want at least the 5 held", len(res))
		}
		synctest.Wait()
		// The Resume's drain lists once or twice more; one merged drain
		// lists once or twice. A drain per queued route would list 30
		// times at least.
		if n := log.drainLists() - listsBefore; n > 5 {
			t.Fatalf("30 routes queued behind a drain at work started drains that listed %d times, want the requests merged (at most 5 lists)", n)
		}
		for i := range 5 {
			key := fmt.Sprintf("K%d", i)
			if r, ok := fakes[0].Record(key); !ok || r.Version != 7 {
				t.Fatalf("partner has %s at %+v (found %v), want version 7, the newest", key, r, ok)
			}
		}
	})
}
