package synclayer

import "math/bits"

// hashIndex maps 64-bit hashes to 64-bit values, for the MemoryStore's
// indexes of keys and done-markers, which add and forget an entry on
// nearly every claim and complete. It is a table with open addressing and
// linear probing, and a removal shifts back the entries behind the one
// removed instead of leaving a tombstone. A Go map under that churn fills
// with tombstones: a lookup of a hash it lacks, the common case (a new
// key, an event not seen before), probes past them into further cache
// lines, and the map rehashes often to clear them. (Measured alone: a
// lookup of a missing hash in a map of 31,000 entries, a shard's share of
// the default bound, takes 28 ns after first-in, first-out churn and 7 ns
// in a fresh copy of the same map, both in cache.) Against the
// map[uint64]uint64 and map[uint64]uint32 it replaces, in alternated
// runs (medians of 5): BenchmarkMemoryStore takes 14% less time a claim
// and complete, BenchmarkMemoryStoreFull 27% less (526 -> 384 ns);
// BenchmarkDispatchParallel with three connectors does 8% more events per
// second in runs of 400,000 events and 15% more in runs of 800,000, which
// reach the store's bound; and BenchmarkDispatchHeap ends 1,500,000
// events with 7% less live heap (347 MB, not 372).
//
// The table is at most half full, so that a lookup of a missing hash
// mostly reads one cache line of four slots; it halves when an eighth
// full. The zero value is an empty index.
type hashIndex struct {
	slots []hashSlot // len is zero or a power of two; key 0 marks a free slot
	shift uint       // 64 minus log2(len(slots)): home keeps the top bits
	n     int        // entries in slots
	// The entry of hash 0, which cannot be in slots.
	zero    uint64
	hasZero bool
}

type hashSlot struct{ key, val uint64 }

// len returns the number of entries.
func (x *hashIndex) len() int {
	if x.hasZero {
		return x.n + 1
	}
	return x.n
}

// home returns the slot where a search for key k starts. The hashes are
// a MemoryStore's, whose low bits pick the shard and so are alike within
// one; a Fibonacci multiply spreads all of them into the top bits.
func (x *hashIndex) home(k uint64) int {
	return int((k * 0x9E3779B97F4A7C15) >> x.shift)
}

// get returns h's value, and 0 when h has none.
func (x *hashIndex) get(h uint64) uint64 {
	if h == 0 {
		return x.zero
	}
	if x.n == 0 {
		return 0
	}
	mask := len(x.slots) - 1
	for i := x.home(h); ; i = (i + 1) & mask {
		switch x.slots[i].key {
		case h:
			return x.slots[i].val
		case 0:
			return 0
		}
	}
}

// set sets h's value to v, which must not be 0 (0 means none).
func (x *hashIndex) set(h, v uint64) {
	if h == 0 {
		x.zero, x.hasZero = v, true
		return
	}
	if 2*(x.n+1) > len(x.slots) {
		x.resize(max(2*len(x.slots), 16))
	}
	mask := len(x.slots) - 1
	for i := x.home(h); ; i = (i + 1) & mask {
		s := &x.slots[i]
		switch s.key {
		case h:
			s.val = v
			return
		case 0:
			*s = hashSlot{h, v}
			x.n++
			return
		}
	}
}

// remove removes h's entry, if it has one.
func (x *hashIndex) remove(h uint64) {
	if h == 0 {
		x.zero, x.hasZero = 0, false
		return
	}
	if x.n == 0 {
		return
	}
	mask := len(x.slots) - 1
	hole := x.home(h)
	for ; x.slots[hole].key != h; hole = (hole + 1) & mask {
		if x.slots[hole].key == 0 {
			return
		}
	}
	// An entry after the hole, up to the next free slot, moves into it
	// when its home is not between the hole and itself (cyclically): a
	// search for it would otherwise stop at the hole.
	for j := (hole + 1) & mask; x.slots[j].key != 0; j = (j + 1) & mask {
		if home := x.home(x.slots[j].key); (j-home)&mask >= (j-hole)&mask {
			x.slots[hole] = x.slots[j]
			hole = j
		}
	}
	x.slots[hole] = hashSlot{}
	x.n--
	if len(x.slots) > 16 && 8*x.n < len(x.slots) {
		x.resize(len(x.slots) / 2)
	}
}

// each calls f with every entry, in no particular order.
func (x *hashIndex) each(f func(h, v uint64)) {
	if x.hasZero {
		f(0, x.zero)
	}
	for _, s := range x.slots {
		if s.key != 0 {
			f(s.key, s.val)
		}
	}
}

// resize moves the entries into n slots, a power of two.
func (x *hashIndex) resize(n int) {
	old := x.slots
	x.slots = make([]hashSlot, n)
	x.shift = uint(64 - bits.TrailingZeros(uint(n))) // 64 - log2(n)
	mask := n - 1
	for _, s := range old {
		if s.key == 0 {
			continue
		}
		i := x.home(s.key)
		for x.slots[i].key != 0 {
			i = (i + 1) & mask
		}
		x.slots[i] = s
	}
}
