// Package testwait polls a condition in a test until it holds, with a
// deadline: for states reached by other goroutines or processes, which a
// test can observe but not be told about.
package testwait

import (
	"testing"
	"time"
)

// For polls cond every 5ms until it holds, and fails t with what() if
// timeout passes first. what is called only then, so that it can describe
// the state at the deadline.
func For(t testing.TB, timeout time.Duration, what func() string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v: %s", timeout, what())
		}
		time.Sleep(5 * time.Millisecond)
	}
}
