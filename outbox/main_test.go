package outbox_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package when a goroutine outlives the tests: every
// relay, listener and bus they start must be shut down.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
