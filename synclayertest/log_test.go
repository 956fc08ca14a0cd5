package synclayertest_test

import (
	"sync"
	"testing"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/synclayertest"
)

// TestMemoryLog runs the DeliveryLog conformance suite against the
// in-memory log. Opening the same namespace twice returns the same
// *MemoryLog, as the suite requires of two processes on one database.
func TestMemoryLog(t *testing.T) {
	var mu sync.Mutex
	logs := map[string]*synclayer.MemoryLog{}
	synclayertest.TestDeliveryLog(t, func(t *testing.T, ns string) synclayer.DeliveryLog {
		mu.Lock()
		defer mu.Unlock()
		if l, ok := logs[ns]; ok {
			return l
		}
		l := new(synclayer.MemoryLog)
		logs[ns] = l
		return l
	})
}
