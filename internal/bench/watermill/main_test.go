package watermill_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run if a benchmark leaves a goroutine behind (a
// router, a subscriber, a dispatcher not stopped).
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
