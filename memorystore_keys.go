package synclayer

// keyTable holds the keys of one MemoryStore shard: each key's state lives
// in a slot of a slab, found through the key's hash, which the store has
// already computed to pick the shard. Against a map keyed by the key
// itself (two strings) this saves, on every claim and complete, hashing
// the strings again inside the map, and the second lookup that writing a
// changed state back into a map costs: a caller finds a slot once and
// changes its state in place. When the table grows, the index moves 16
// bytes per key and the slab adds a chunk, where a map of the states would
// move every state. Against such a map, in alternated runs:
// BenchmarkMemoryStore takes 743 ns per claim and complete instead of
// 1,196 (BenchmarkMemoryStoreFull, at the bound, 625 instead of 873), and
// BenchmarkDispatchParallel with three connectors does 11-20% more
// events per second (1 s runs; runs of 400,000 events, which grow the
// maps further), with half the bytes allocated per event.
//
// Slots are numbered from 1; 0 means none. A slot freed by remove is
// zeroed and reused by a later add, so a slot number held across a call
// that may remove keys (sweepKeys) must be checked against the key's
// state (keyState.age) before use.
type keyTable struct {
	// index maps a hash to the newest slot of that hash (see hashIndex).
	// Slots whose keys share a hash chain through keySlot.older, so a
	// collision costs a comparison, never a wrong answer.
	index  hashIndex
	chunks []*[keyChunk]keySlot
	free   []uint32 // removed slots, for reuse
	n      int      // live keys; with free, the slots handed out
}

// keyChunk is the number of slots in a chunk of the slab. Chunks are never
// moved, so a *keySlot stays valid while its slot is live.
const keyChunk = 256

// keySlot is one key of a keyTable.
type keySlot struct {
	k     ckey
	hash  uint64
	older uint32 // the next older slot of the same hash, 0 if none
	st    keyState
}

// len returns the number of keys.
func (t *keyTable) len() int { return t.n }

// at returns slot i, which must exist.
func (t *keyTable) at(i uint32) *keySlot {
	return &t.chunks[(i-1)/keyChunk][(i-1)%keyChunk]
}

// find returns k's slot, of hash h, or nil and 0 when k has none.
func (t *keyTable) find(k ckey, h uint64) (*keySlot, uint32) {
	for i := uint32(t.index.get(h)); i != 0; {
		s := t.at(i)
		if s.k == k {
			return s, i
		}
		i = s.older
	}
	return nil, 0
}

// slot returns k's slot, of hash h, adding one with the zero state when k
// has none.
func (t *keyTable) slot(k ckey, h uint64) (*keySlot, uint32) {
	if s, i := t.find(k, h); s != nil {
		return s, i
	}
	return t.add(k, h)
}

// add adds a slot with the zero state for k, of hash h, which has none.
func (t *keyTable) add(k ckey, h uint64) (*keySlot, uint32) {
	var i uint32
	if n := len(t.free); n > 0 {
		i, t.free = t.free[n-1], t.free[:n-1]
	} else {
		// No slot is free: the n live ones are all that were handed out.
		if t.n == len(t.chunks)*keyChunk {
			t.chunks = append(t.chunks, new([keyChunk]keySlot))
		}
		i = uint32(t.n + 1)
	}
	s := t.at(i)
	*s = keySlot{k: k, hash: h, older: uint32(t.index.get(h))}
	t.index.set(h, uint64(i))
	t.n++
	return s, i
}

// remove forgets the key in slot i.
func (t *keyTable) remove(i uint32) {
	s := t.at(i)
	if newest := uint32(t.index.get(s.hash)); newest == i {
		if s.older == 0 {
			t.index.remove(s.hash)
		} else {
			t.index.set(s.hash, uint64(s.older))
		}
	} else {
		for p := t.at(newest); ; p = t.at(p.older) {
			if p.older == i {
				p.older = s.older
				break
			}
		}
	}
	*s = keySlot{} // let its strings be collected
	t.free = append(t.free, i)
	t.n--
}

// each calls f with every live slot, in no particular order.
func (t *keyTable) each(f func(*keySlot)) {
	t.index.each(func(_, newest uint64) {
		for i := uint32(newest); i != 0; {
			s := t.at(i)
			f(s)
			i = s.older
		}
	})
}
