package synclayer

import (
	"maps"
	"slices"
	"testing"
)

// Keys whose hashes collide share a chain: each is found by its own key,
// and removing one, wherever it is in the chain, keeps the others.
func TestKeyTableCollisions(t *testing.T) {
	var kt keyTable
	const h = 42
	a, b, c := ckey{"c", "a"}, ckey{"c", "b"}, ckey{"c", "c"}
	for v, k := range []ckey{a, b, c} {
		s, _ := kt.slot(k, h)
		s.st.version = int64(v + 1)
	}
	other, _ := kt.slot(ckey{"c", "d"}, 7)
	other.st.version = 9

	versions := func() map[string]int64 {
		got := map[string]int64{}
		kt.each(func(s *keySlot) { got[s.k.id] = s.st.version })
		return got
	}
	if got, want := versions(), map[string]int64{"a": 1, "b": 2, "c": 3, "d": 9}; !maps.Equal(got, want) {
		t.Fatalf("after adding: %v, want %v", got, want)
	}
	_, ib := kt.find(b, h) // the middle of the chain c -> b -> a
	kt.remove(ib)
	if s, _ := kt.find(b, h); s != nil {
		t.Errorf("b found after its removal: %+v", s.k)
	}
	for k, want := range map[ckey]int64{a: 1, c: 3} {
		if s, _ := kt.find(k, h); s == nil || s.st.version != want {
			t.Errorf("%s after removing b: %v, want version %d", k.id, s, want)
		}
	}
	_, ic := kt.find(c, h) // the newest
	kt.remove(ic)
	_, ia := kt.find(a, h) // the last of its hash
	kt.remove(ia)
	if ok := kt.index.get(h) != 0; ok || kt.len() != 1 {
		t.Errorf("after removing a, b and c: index has hash %d: %v, %d keys; want none, 1 key", h, ok, kt.len())
	}
	if got, want := versions(), map[string]int64{"d": 9}; !maps.Equal(got, want) {
		t.Errorf("left: %v, want %v", got, want)
	}
	// The removed slots are reused, zeroed.
	s, i := kt.slot(ckey{"c", "e"}, h)
	if s.st.version != 0 || !slices.Contains([]uint32{ia, ib, ic}, i) {
		t.Errorf("new key got slot %d with version %d; want one of the removed slots %d, %d, %d, zeroed", i, s.st.version, ia, ib, ic)
	}
}

// A slot freed and given to a new key leaves its old record in ages
// behind: that stale record must not make the sweep forget the new key,
// the most recently used, in place of the least recently used one.
func TestSweepSkipsTheRecordOfAReusedSlot(t *testing.T) {
	var s MemoryStore
	s.once.Do(s.init)
	sh := &s.shards[0]
	sh.maxKeys = 2
	add := func(id string, h uint64) uint32 {
		ks, i := sh.keys.slot(ckey{"c", id}, h)
		ks.st.version = 1
		sh.settle(ks, i, 1)
		return i
	}
	ia := add("a", 1)
	add("b", 2)
	sh.keys.remove(ia) // a is forgotten; its record in ages stays
	if ic := add("c", 3); ic != ia {
		t.Fatalf("c got slot %d, want a's freed slot %d", ic, ia)
	}
	add("d", 4) // over the bound: the least recently used goes, b
	for id, want := range map[string]bool{"b": false, "c": true, "d": true} {
		if ks, _ := sh.keys.find(ckey{"c", id}, uint64(id[0]-'a'+1)); (ks != nil) != want {
			t.Errorf("key %s kept: %v, want %v", id, ks != nil, want)
		}
	}
}
