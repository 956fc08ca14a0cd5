package synclayer

import (
	"fmt"
	"testing"
)

// Done-markers whose hashes collide share a chain: each is found by its
// own key, completed again in place, queued again by the sweep, and
// forgotten by expiry or by the bound without losing the others.
func TestMemoryStoreHashCollisions(t *testing.T) {
	sh := &memoryShard{maxDone: 4, maxKeys: 4}
	const h = 7
	key := func(i int) ckey { return ckey{"c", fmt.Sprint("e", i)} }
	live := func(now int64, want ...int) {
		t.Helper()
		got := map[int]bool{}
		for i := range 8 {
			if m, _ := sh.marker(key(i), h); m != nil && now < m.expires {
				got[i] = true
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(setOf(want)) {
			t.Fatalf("at %d: live markers %v, want %v", now, got, want)
		}
	}
	// e0, e1, e2 at times 0, 1, 2, each kept for 10.
	for i := range 3 {
		sh.markDone(key(i), h, int64(i), int64(i)+10)
	}
	live(2, 0, 1, 2)
	sh.markDone(key(0), h, 5, 15) // e0 completed again: kept until 15
	sh.markDone(key(3), h, 11, 21)
	// At 11, e0's queued expiry passed: it is queued again, the newest of
	// the chain. e1 expired and is forgotten from the chain's end.
	live(11, 0, 2, 3)
	if done := sh.markers.len(); done != 3 {
		t.Errorf("%d markers queued after the sweep at 11, want 3 (e2, e3, e0)", done)
	}
	// Over the bound of 4, the oldest queued goes first, live or not: e2.
	sh.markDone(key(4), h, 11, 21)
	sh.markDone(key(5), h, 11, 21)
	live(11, 0, 3, 4, 5)
	// Expiry forgets the rest in turn; the last one empties the index.
	sh.sweepDone(16)
	live(16, 3, 4, 5)
	sh.sweepDone(30)
	live(30)
	if sh.done.len() != 0 || sh.markers.len() != 0 {
		t.Errorf("after every marker expired: index of %d, %d queued", sh.done.len(), sh.markers.len())
	}
}

func setOf(xs []int) map[int]bool {
	m := map[int]bool{}
	for _, x := range xs {
		m[x] = true
	}
	return m
}

// The queue keeps its elements in order and at their positions while its
// buffer grows, wraps around and shrinks again, and forgets the positions
// it popped.
func TestFifoPositions(t *testing.T) {
	var q fifo[int]
	next, front := 0, 0 // next value to push, value expected at the front
	check := func() {
		t.Helper()
		if q.len() != next-front {
			t.Fatalf("len %d, want %d", q.len(), next-front)
		}
		for v := front; v < next; v++ {
			if p := q.at(uint64(v + 1)); p == nil || *p != v {
				t.Fatalf("at(%d) = %v, want %d", v+1, p, v)
			}
		}
		if front > 0 && q.at(uint64(front)) != nil {
			t.Fatalf("at(%d) finds a popped element", front)
		}
	}
	push := func(n int) {
		for range n {
			if p := q.push(next); p != uint64(next+1) {
				t.Fatalf("push(%d) at %d, want %d", next, p, next+1)
			}
			next++
		}
		check()
	}
	pop := func(n int) {
		for range n {
			if *q.front() != front {
				t.Fatalf("front %d, want %d", *q.front(), front)
			}
			if p := q.pop(); p != uint64(front+1) {
				t.Fatalf("pop at %d, want %d", p, front+1)
			}
			front++
		}
		check()
	}
	push(10)
	pop(7)
	push(20) // wraps, then grows from a wrapped buffer
	pop(5)
	push(100)
	if len(q.buf) != 128 {
		t.Errorf("buffer of %d for %d elements, want 128", len(q.buf), q.len())
	}
	pop(115) // shrinks as it drains
	if len(q.buf) > 16 {
		t.Errorf("buffer of %d for %d elements, want 16", len(q.buf), q.len())
	}
	pop(3)
	push(40)
	pop(40)
}
