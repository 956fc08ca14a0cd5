package synclayer

import (
	"fmt"
	"testing"
)

// Entries whose hashes collide share a run of slots in the index: each is
// still found by its own identity, updated in place, and forgotten without
// losing the others, wherever it sits in the run.
func TestMemoryLogHashCollisions(t *testing.T) {
	// 63 is the last slot of the first index: the run wraps to slot 0.
	for _, h := range []uint64{7, 63} {
		t.Run(fmt.Sprint("hash ", h), func(t *testing.T) { testHashCollisions(t, h) })
	}
}

func testHashCollisions(t *testing.T, h uint64) {
	l := &MemoryLog{MaxEntries: 4}
	gone := map[string]bool{}
	put := func(id string, st Status) {
		t.Helper()
		before := l.entries()
		if err := l.put(h, &Delivery{EventID: id, Connector: "c", State: st}); err != nil {
			t.Fatalf("put %s: %v", id, err)
		}
		delete(gone, id)
		for _, was := range before {
			if !l.has(was) {
				gone[was] = true
			}
		}
		l.checkChains(t)
		for id := range gone {
			if e, _ := l.lookup(h, id, "c"); e != nil {
				t.Fatalf("after put %s: forgotten %s is still found", id, id)
			}
		}
	}
	// Fill, then forget from the run's start, its middle and its end.
	for i := range 4 {
		put(fmt.Sprint("e", i), StatusSynced) // the run: e0 e1 e2 e3
	}
	put("e4", StatusSynced)  // forgets e0, at the run's start
	put("e1", StatusPending) // updated in place, never forgotten from here on
	put("e5", StatusSynced)  // forgets e2, in the run's middle
	for _, id := range []string{"e3", "e4", "e5"} {
		put(id, StatusPending)
	}
	// Full of pending entries: e6 is refused, forgotten from the run's
	// end.
	if err := l.put(h, &Delivery{EventID: "e6", Connector: "c", State: StatusPending}); err != errLogFull {
		t.Fatalf("put e6 into a log full of pending entries: %v, want errLogFull", err)
	}
	l.checkChains(t)
	if got, want := fmt.Sprint(len(gone), gone["e0"], gone["e2"]), "2 true true"; got != want {
		t.Errorf("forgotten: %v, want e0 and e2", gone)
	}
	for _, id := range []string{"e1", "e3", "e4", "e5"} {
		if e, _ := l.lookup(h, id, "c"); e == nil || e.d.EventID != id || e.d.State != StatusPending {
			t.Errorf("%s under the shared hash: %+v, want it pending", id, e)
		}
	}
	if e, _ := l.lookup(h, "e6", "c"); e != nil {
		t.Errorf("the refused e6 is found")
	}
}

// entries returns the IDs of the entries on the class lists.
func (l *MemoryLog) entries() []string {
	var ids []string
	for c := range l.lists {
		for e := l.lists[c].head; e != nil; e = e.next {
			ids = append(ids, e.d.EventID)
		}
	}
	return ids
}

func (l *MemoryLog) has(id string) bool {
	for _, e := range l.entries() {
		if e == id {
			return true
		}
	}
	return false
}

// checkChains checks that every entry of the index is found from its home
// slot without crossing an empty slot, and that the index holds exactly
// the entries on the class lists.
func (l *MemoryLog) checkChains(t *testing.T) {
	t.Helper()
	n := 0
	mask := len(l.index) - 1
	for i, s := range l.index {
		if s.e == nil {
			continue
		}
		n++
		if s.hash != s.e.hash {
			t.Fatalf("slot %d: hash %d for entry %s of hash %d", i, s.hash, s.e.d.EventID, s.e.hash)
		}
		for k := int(s.hash) & mask; k != i; k = (k + 1) & mask {
			if l.index[k].e == nil {
				t.Fatalf("entry %s at slot %d is cut off from its home slot by the empty slot %d", s.e.d.EventID, i, k)
			}
		}
	}
	if listed := len(l.entries()); n != listed || n != l.size {
		t.Fatalf("index holds %d entries, lists %d, size %d", n, listed, l.size)
	}
}

// The index grows as entries come and keeps every entry reachable from its
// home slot through the growth and through forgetting: the entries kept
// are found, the forgotten ones are not.
func TestMemoryLogIndexGrows(t *testing.T) {
	l := &MemoryLog{MaxEntries: 300}
	id := func(i int) string { return fmt.Sprint("e", i) }
	for i := range 1000 {
		if err := l.Put(t.Context(), Delivery{EventID: id(i), Connector: "c", State: StatusSynced}); err != nil {
			t.Fatalf("put %d: %v", i, err)
		}
		if i%97 == 0 {
			l.checkChains(t)
		}
	}
	l.checkChains(t)
	if len(l.index) < l.size {
		t.Errorf("index of %d buckets for %d entries", len(l.index), l.size)
	}
	for i := range 1000 {
		e, _ := l.lookup(logHash(id(i), "c"), id(i), "c")
		if kept := i >= 700; (e != nil) != kept || (kept && e.d.EventID != id(i)) {
			t.Errorf("%s: found %v, want kept %v", id(i), e != nil, kept)
		}
	}
}

// Entries of a few hashes crowded at the end of the index, so that their
// runs meet and wrap, stay found through updates and forgetting in every
// order.
func TestMemoryLogCrowdedIndex(t *testing.T) {
	l := &MemoryLog{MaxEntries: 20}
	for i := range 2000 {
		id := fmt.Sprint("e", (i*7919)%97)
		h := uint64(58 + (i*31)%9) // home slots 58..63, then 0..2
		if _, err := l.find(id); err == nil {
			h = l.hashOf(id) // an entry keeps its hash
		}
		st := StatusSynced
		if i%3 == 0 {
			st = StatusInProgress
		}
		if err := l.put(h, &Delivery{EventID: id, Connector: "c", State: st}); err != nil {
			t.Fatalf("put %s: %v", id, err)
		}
		l.checkChains(t)
		for c := range l.lists {
			for e := l.lists[c].head; e != nil; e = e.next {
				if got, _ := l.lookup(e.hash, e.d.EventID, "c"); got != e {
					t.Fatalf("after %d puts: %s not found", i+1, e.d.EventID)
				}
			}
		}
	}
}

// find returns the entry of id on connector "c".
func (l *MemoryLog) find(id string) (*logEntry, error) {
	for c := range l.lists {
		for e := l.lists[c].head; e != nil; e = e.next {
			if e.d.EventID == id {
				return e, nil
			}
		}
	}
	return nil, fmt.Errorf("%s not in the log", id)
}

func (l *MemoryLog) hashOf(id string) uint64 {
	e, _ := l.find(id)
	return e.hash
}

// TestMemoryLogFullOfDeadLetters: a settled entry put into a log full of
// dead letters is the one forgotten, as the rule says (settled entries go
// first), and that is no error: errLogFull is for a pending entry the log
// cannot keep.
func TestMemoryLogFullOfDeadLetters(t *testing.T) {
	l := &MemoryLog{MaxEntries: 2}
	for _, id := range []string{"d1", "d2"} {
		if err := l.Put(t.Context(), Delivery{EventID: id, Connector: "c", State: StatusDead}); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Put(t.Context(), Delivery{EventID: "s1", Connector: "c", State: StatusSynced}); err != nil {
		t.Fatalf("put a synced entry into a log full of dead letters: %v, want nil", err)
	}
	if got := fmt.Sprint(l.entries()); got != "[d2 d1]" {
		t.Errorf("entries %s, want the two dead letters kept", got)
	}
	if err := l.Put(t.Context(), Delivery{EventID: "p1", Connector: "c", State: StatusPending}); err != nil {
		t.Fatalf("put a pending entry: %v, want nil (it replaces the oldest dead letter)", err)
	}
}
