package synclayer

import (
	"fmt"
	"testing"
)

// Entries whose hashes collide share a chain in the index: each is still
// found by its own identity, updated in place, and forgotten without losing
// the others, wherever it sits in the chain.
func TestMemoryLogHashCollisions(t *testing.T) {
	l := &MemoryLog{MaxEntries: 4}
	gone := map[string]bool{}
	put := func(id string, st Status) {
		t.Helper()
		before := l.entries()
		if err := l.put(7, &Delivery{EventID: id, Connector: "c", State: st}); err != nil {
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
			if e, _ := l.lookup(7, id, "c"); e != nil {
				t.Fatalf("after put %s: forgotten %s is still found", id, id)
			}
		}
	}
	// Fill, then forget from the chain's end, its middle and its start.
	for i := range 4 {
		put(fmt.Sprint("e", i), StatusSynced) // the chain: e3 e2 e1 e0
	}
	put("e4", StatusSynced)  // forgets e0, at the chain's end
	put("e1", StatusPending) // updated in place, never forgotten from here on
	put("e5", StatusSynced)  // forgets e2, in the chain's middle
	for _, id := range []string{"e3", "e4", "e5"} {
		put(id, StatusPending)
	}
	// Full of pending entries: e6 is refused, forgotten from the chain's
	// start.
	if err := l.put(7, &Delivery{EventID: "e6", Connector: "c", State: StatusPending}); err != errLogFull {
		t.Fatalf("put e6 into a log full of pending entries: %v, want errLogFull", err)
	}
	l.checkChains(t)
	if got, want := fmt.Sprint(len(gone), gone["e0"], gone["e2"]), "2 true true"; got != want {
		t.Errorf("forgotten: %v, want e0 and e2", gone)
	}
	for _, id := range []string{"e1", "e3", "e4", "e5"} {
		if e, _ := l.lookup(7, id, "c"); e == nil || e.d.EventID != id || e.d.State != StatusPending {
			t.Errorf("%s under the shared hash: %+v, want it pending", id, e)
		}
	}
	if e, _ := l.lookup(7, "e6", "c"); e != nil {
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

// checkChains checks that the index's chains link both ways, each in the
// bucket of its hashes, and hold exactly the entries on the class lists.
func (l *MemoryLog) checkChains(t *testing.T) {
	t.Helper()
	n := 0
	for h, head := range l.index {
		if head == nil {
			continue
		}
		if head.samePrev != nil {
			t.Fatalf("chain %d: its first entry has a predecessor", h)
		}
		for e := head; e != nil; e = e.sameNext {
			n++
			if l.bucket(e.hash) != &l.index[h] {
				t.Fatalf("entry %s of hash %d on chain %d", e.d.EventID, e.hash, h)
			}
			if e.sameNext != nil && e.sameNext.samePrev != e {
				t.Fatalf("chain %d: %s -> %s does not link back", h, e.d.EventID, e.sameNext.d.EventID)
			}
		}
	}
	if listed := len(l.entries()); n != listed || n != l.size {
		t.Fatalf("chains hold %d entries, lists %d, size %d", n, listed, l.size)
	}
}

// The index grows as entries come and keeps every entry in the bucket of
// its hash through the growth and through forgetting: the entries kept
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
