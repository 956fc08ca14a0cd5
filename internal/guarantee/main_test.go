package guarantee

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package when a goroutine outlives the tests: every
// dispatcher, bus, server and client they start must be shut down.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
