package testwait_test

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/hmsplatform/synclayer/internal/testwait"
)

func TestForReturnsOnceTheConditionHolds(t *testing.T) {
	var n atomic.Int32
	go func() {
		for range 3 {
			n.Add(1)
		}
	}()
	testwait.For(t, time.Minute, func() string { return "three increments" }, func() bool { return n.Load() == 3 })
}

// failT records a Fatalf instead of ending the test.
type failT struct {
	testing.TB
	msg string
}

func (f *failT) Helper() {}
func (f *failT) Fatalf(format string, args ...any) {
	f.msg = format
	panic(f)
}

func TestForFailsWithWhatAtTheDeadline(t *testing.T) {
	f := &failT{TB: t}
	calls := 0
	func() {
		defer func() {
			if r := recover(); r != f {
				t.Fatalf("For did not fail: %v", r)
			}
		}()
		testwait.For(f, 0, func() string { calls++; return "x" }, func() bool { return false })
	}()
	if calls != 1 || f.msg != "timed out after %v: %s" {
		t.Errorf("what called %d times, message %q; want once, the timeout message", calls, f.msg)
	}
}
