package sqlstore_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run if a test leaves a goroutine behind (a pool, a
// janitor, a client not closed).
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
