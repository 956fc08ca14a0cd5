package synclayertest_test

import (
	"testing"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/synclayertest"
)

// TestMemoryLedgerShared runs the Ledger suite with every subtest on one
// MemoryStore, as a durable ledger's subtests share one table: the suite's
// subtests must keep apart by connector.
func TestMemoryLedgerShared(t *testing.T) {
	l := new(synclayer.MemoryStore)
	synclayertest.TestLedger(t, func(t *testing.T) synclayer.Ledger { return l })
}

// TestMemoryStoreLedger runs the suites against the MemoryStore, which is
// the default store and keeps each key's ledger entry beside its version.
func TestMemoryStoreLedger(t *testing.T) {
	synclayertest.TestLedger(t, func(t *testing.T) synclayer.Ledger { return new(synclayer.MemoryStore) })
	synclayertest.TestStoreLedger(t, func(t *testing.T, _ string) synclayer.Store { return new(synclayer.MemoryStore) })
}
