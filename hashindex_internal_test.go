package synclayer

import (
	"math/rand/v2"
	"testing"
)

// hashIndex against a map under random churn: sets, overwrites and
// removals of hashes drawn from a small range (so that probe runs meet,
// wrap around the table's end and are shifted back), hash 0 included,
// while the table grows and halves.
func TestHashIndexMatchesAMap(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var x hashIndex
	want := map[uint64]uint64{}
	check := func(step int) {
		t.Helper()
		if x.len() != len(want) {
			t.Fatalf("step %d: len %d, want %d", step, x.len(), len(want))
		}
		seen := 0
		x.each(func(h, v uint64) {
			seen++
			if want[h] != v {
				t.Fatalf("step %d: each gives %d: %d, want %d", step, h, v, want[h])
			}
		})
		if seen != len(want) {
			t.Fatalf("step %d: each gave %d entries, want %d", step, seen, len(want))
		}
	}
	for step := range 200_000 {
		// The range grows then shrinks, so that the table does both.
		span := uint64(1 + 4000 - abs(step/25-4000))
		h := rng.Uint64N(span)
		if rng.IntN(8) == 0 {
			h *= 0x9E3779B97F4A7C15 // a few far apart, mostly close
		}
		switch rng.IntN(3) {
		case 0, 1:
			v := rng.Uint64N(1_000_000) + 1
			x.set(h, v)
			want[h] = v
		case 2:
			x.remove(h)
			delete(want, h)
		}
		if got := x.get(h); got != want[h] {
			t.Fatalf("step %d: get(%d) = %d, want %d", step, h, got, want[h])
		}
		if step%5000 == 0 {
			check(step)
			for k, v := range want {
				if got := x.get(k); got != v {
					t.Fatalf("step %d: get(%d) = %d, want %d", step, k, got, v)
				}
			}
		}
	}
	for k := range want {
		x.remove(k)
		delete(want, k)
	}
	check(-1)
	if len(x.slots) > 16 {
		t.Errorf("empty index keeps %d slots, want at most 16", len(x.slots))
	}
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

// A removal in the middle of a run of probes that wraps around the end of
// the table keeps every other entry of the run found.
func TestHashIndexRemoveShiftsAcrossTheEnd(t *testing.T) {
	var x hashIndex
	x.resize(16)
	// Hashes whose home is the last slot: they fill it, then wrap to 0, 1...
	var run []uint64
	for h := uint64(1); len(run) < 5; h++ {
		if x.home(h) == 15 {
			run = append(run, h)
		}
	}
	for i, h := range run {
		x.set(h, uint64(i+1))
	}
	x.remove(run[1])
	for i, h := range run {
		want := uint64(i + 1)
		if i == 1 {
			want = 0
		}
		if got := x.get(h); got != want {
			t.Fatalf("after removing the run's second: get(run[%d]) = %d, want %d", i, got, want)
		}
	}
}
