package bench_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run if a benchmark leaves a goroutine behind (a
// connection, a pool, a subscriber not stopped).
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
