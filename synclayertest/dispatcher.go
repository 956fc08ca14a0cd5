package synclayertest

import (
	"testing"

	"github.com/hmsplatform/synclayer"
)

// NewDispatcher is [synclayer.NewDispatcher] for tests: it fails tb at once
// when an option is refused, so a test reads as one line per dispatcher.
func NewDispatcher(tb testing.TB, reg *synclayer.Registry, opts ...synclayer.Option) *synclayer.Dispatcher {
	tb.Helper()
	d, err := synclayer.NewDispatcher(reg, opts...)
	if err != nil {
		tb.Fatalf("synclayertest: %v", err)
	}
	return d
}
