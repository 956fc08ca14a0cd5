package synclayertest_test

import (
	"testing"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/synclayertest"
)

// TestMemoryLog runs the DeliveryLog conformance suite against the
// in-memory log. Opening the same namespace twice returns the same
// *MemoryLog, as the suite requires of two processes on one database.
func TestMemoryLog(t *testing.T) {
	synclayertest.TestDeliveryLog(t, perNamespace(func() synclayer.DeliveryLog { return new(synclayer.MemoryLog) }))
}
