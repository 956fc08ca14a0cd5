package synclayertest_test

import (
	"sync"
	"testing"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/synclayertest"
)

// TestMemoryStore runs the Store conformance suite against the in-memory
// store. Opening the same namespace twice returns the same *MemoryStore, as
// the suite requires of two processes on one database.
func TestMemoryStore(t *testing.T) {
	synclayertest.TestStore(t, perNamespace(func() synclayer.Store { return new(synclayer.MemoryStore) }))
}

// perNamespace returns an opener that makes one value per namespace and
// returns that same value whenever the namespace is opened again, as two
// processes on one database see the same data.
func perNamespace[T any](newValue func() T) func(t *testing.T, ns string) T {
	var mu sync.Mutex
	opened := map[string]T{}
	return func(_ *testing.T, ns string) T {
		mu.Lock()
		defer mu.Unlock()
		v, ok := opened[ns]
		if !ok {
			v = newValue()
			opened[ns] = v
		}
		return v
	}
}
