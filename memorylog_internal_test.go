package synclayer

import (
	"fmt"
	"strings"
	"testing"
)

// The ring keeps its elements in order across wrapping round its buffer
// and across growing while wrapped.
func TestRingKeepsOrder(t *testing.T) {
	var q ring[int]
	next, front := 0, 0
	check := func() {
		t.Helper()
		if q.len() != next-front {
			t.Fatalf("len %d, want %d", q.len(), next-front)
		}
		for i := range q.len() {
			if got := *q.at(i); got != front+i {
				t.Fatalf("at(%d) = %d, want %d", i, got, front+i)
			}
		}
	}
	for round := range 6 {
		for range 10 + 7*round { // more in than out: it wraps, then grows
			*q.add(1000) = next
			next++
		}
		check()
		for range 9 {
			if got := *q.front(); got != front {
				t.Fatalf("front %d, want %d", got, front)
			}
			q.pop()
			front++
		}
		check()
	}
}

// A ring grows to its limit and no further: at the limit, rotate reuses
// the oldest element's slot for the newest, and so does a rotate in a
// buffer with room to spare (where it pops, then adds).
func TestRingGrowsToItsLimitAndRotates(t *testing.T) {
	var q ring[int]
	for i := range 40 {
		*q.add(40) = i
	}
	if len(q.buf) != 40 {
		t.Fatalf("buffer of %d for 40 elements under a limit of 40", len(q.buf))
	}
	for i := 40; i < 100; i++ {
		*q.rotate() = i
	}
	if len(q.buf) != 40 || q.len() != 40 || *q.front() != 60 || *q.at(39) != 99 {
		t.Fatalf("buffer of %d, len %d, front %d, back %d; want 40, 40, 60, 99", len(q.buf), q.len(), *q.front(), *q.at(39))
	}
	q.pop()
	q.pop()
	*q.rotate() = 100 // room to spare: the front (62) goes, 100 comes last
	if q.len() != 38 || *q.front() != 63 || *q.at(37) != 100 {
		t.Fatalf("len %d, front %d, back %d; want 38, 63, 100", q.len(), *q.front(), *q.at(37))
	}
}

// entries lists the log's entries, newest first, as "id:state".
func (l *MemoryLog) entries(t *testing.T) string {
	t.Helper()
	got, err := l.List(t.Context(), DeliveryFilter{Limit: 10_000})
	if err != nil {
		t.Fatal(err)
	}
	var s []string
	for _, d := range got {
		s = append(s, d.EventID+":"+d.State.String())
	}
	return strings.Join(s, " ")
}

// expect fails the test unless the log's entries are want (see entries).
func (l *MemoryLog) expect(t *testing.T, want string) {
	t.Helper()
	if got := l.entries(t); got != want {
		t.Fatalf("entries %q, want %q", got, want)
	}
}

// put puts each "id:state" in turn, on connector "c".
func (l *MemoryLog) put(t *testing.T, puts ...string) {
	t.Helper()
	for _, p := range puts {
		id, state, _ := strings.Cut(p, ":")
		var st Status
		if err := st.UnmarshalText([]byte(state)); err != nil {
			t.Fatal(err)
		}
		if err := l.Put(t.Context(), Delivery{EventID: id, Connector: "c", State: st}); err != nil {
			t.Fatalf("put %s: %v", p, err)
		}
	}
}

// A route's outcome takes the place of its in-progress record when that
// record is the log's newest, so that it costs no second record; when
// another Put came between them, both stay until the ring passes the
// older. Either way only the outcome is listed, in the order of the Puts.
func TestMemoryLogOutcomeTakesInProgressPlace(t *testing.T) {
	l := &MemoryLog{MaxEntries: 5}
	l.put(t, "a:in_progress", "a:synced")
	if l.ring.len() != 1 {
		t.Fatalf("%d records after a's in-progress and outcome in a row, want 1", l.ring.len())
	}
	l.put(t, "b:in_progress", "c:in_progress", "b:failed")
	if l.ring.len() != 4 {
		t.Fatalf("%d records after b's outcome followed c's Put, want 4 (b's in-progress record stays)", l.ring.len())
	}
	l.expect(t, "b:failed c:in_progress a:synced")
	l.put(t, "c:synced")
	l.expect(t, "c:synced b:failed a:synced")
	// Only an in-progress record gives its place: a second outcome of
	// an entry (a retry's) is a record of its own.
	l2 := &MemoryLog{MaxEntries: 4}
	l2.put(t, "a:failed", "a:synced")
	if l2.ring.len() != 2 {
		t.Fatalf("%d records after two outcomes of a, want 2", l2.ring.len())
	}
	l2.expect(t, "a:synced")
}

// A record superseded by a newer one of its entry is never listed, counts
// toward the bound until the ring passes it, and is then forgotten without
// taking its entry along.
func TestMemoryLogSupersededRecords(t *testing.T) {
	l := &MemoryLog{MaxEntries: 4}
	l.put(t, "a:in_progress", "b:in_progress", "a:synced")
	l.expect(t, "a:synced b:in_progress")
	// A lookup by identity reads the newest record only.
	if got, _ := l.List(t.Context(), DeliveryFilter{EventID: "a", Connector: "c", States: []Status{StatusInProgress}}); len(got) != 0 {
		t.Errorf("lookup of a in progress: %v, want none: that record is superseded", got)
	}
	if l.Len() != 2 || l.ring.len() != 3 {
		t.Fatalf("Len %d over %d records, want 2 over 3", l.Len(), l.ring.len())
	}
	l.put(t, "b:synced", "c:synced") // the bound passes a's first record
	l.expect(t, "c:synced b:synced a:synced")
	l.put(t, "d:synced") // and b's first record
	l.put(t, "e:synced") // and a's only one: a is forgotten
	l.expect(t, "e:synced d:synced c:synced b:synced")
	// One entry is found by its identity, whatever its place.
	for _, id := range []string{"b", "e"} {
		got, err := l.List(t.Context(), DeliveryFilter{EventID: id, Connector: "c"})
		if err != nil || len(got) != 1 || got[0].EventID != id {
			t.Errorf("lookup of %s: %v, %v", id, got, err)
		}
	}
	if got, _ := l.List(t.Context(), DeliveryFilter{EventID: "a", Connector: "c"}); len(got) != 0 {
		t.Errorf("lookup of forgotten a: %v", got)
	}
}

// A held entry supersedes the ring's records of its entry, and a record
// written after it supersedes it: the entry moves between the two without
// ever being listed twice.
func TestMemoryLogHeldEntriesMove(t *testing.T) {
	l := &MemoryLog{MaxEntries: 10}
	l.put(t, "a:in_progress", "b:synced", "a:pending") // a breaker opened during the push
	l.expect(t, "a:pending b:synced")
	got, err := l.List(t.Context(), DeliveryFilter{States: []Status{StatusInProgress}})
	if err != nil || len(got) != 0 {
		t.Fatalf("in progress: %v, %v; want none: a's record in progress is superseded", got, err)
	}
	l.put(t, "a:in_progress") // resumed
	l.put(t, "a:dead", "c:synced")
	l.expect(t, "c:synced a:dead b:synced")
	l.put(t, "a:synced") // replayed
	l.expect(t, "a:synced c:synced b:synced")
	if l.ndead != 0 || len(l.held) != 0 {
		t.Fatalf("%d dead, %d held after the replay; want none", l.ndead, len(l.held))
	}
}

// Dead letters replaced since they were queued are skipped when the log
// forgets the oldest dead letter, and the queue of them stays bounded
// however many are replaced.
func TestMemoryLogDeadQueue(t *testing.T) {
	l := &MemoryLog{MaxEntries: 3}
	for i := range 1000 { // dead, then replayed: a stale ref each
		id := fmt.Sprint("r", i)
		l.put(t, id+":dead", id+":synced")
	}
	if n := l.dead.len(); n > 2*l.ndead+64 {
		t.Fatalf("%d refs queued for %d dead letters", n, l.ndead)
	}
	l.put(t, "d1:dead", "d2:dead", "d1:pending") // d1's ref is stale from here on
	l.put(t, "d3:dead")
	l.put(t, "p1:pending") // forgets the ring, then d2, the oldest live dead letter
	l.expect(t, "p1:pending d3:dead d1:pending")
}

// TestMemoryLogFullOfDeadLetters: a settled entry put into a log full of
// dead letters is the one forgotten, as the rule says (settled entries go
// first), and that is no error: errLogFull is for a pending entry the log
// cannot keep.
func TestMemoryLogFullOfDeadLetters(t *testing.T) {
	l := &MemoryLog{MaxEntries: 2}
	l.put(t, "d1:dead", "d2:dead", "s1:synced")
	l.expect(t, "d2:dead d1:dead")
	l.put(t, "p1:pending") // replaces the oldest dead letter
	l.expect(t, "p1:pending d2:dead")
}
