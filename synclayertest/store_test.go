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
	var mu sync.Mutex
	stores := map[string]*synclayer.MemoryStore{}
	synclayertest.TestStore(t, func(t *testing.T, ns string) synclayer.Store {
		mu.Lock()
		defer mu.Unlock()
		if s, ok := stores[ns]; ok {
			return s
		}
		s := new(synclayer.MemoryStore)
		stores[ns] = s
		return s
	})
}
