package benchrun_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/hmsplatform/synclayer/internal/benchrun"
)

func TestSpreadCallsEachNumberOnce(t *testing.T) {
	var mu sync.Mutex
	seen := map[int64]int{}
	if _, err := benchrun.Spread(8, 10, 1010, func(i int64) error {
		mu.Lock()
		seen[i]++
		mu.Unlock()
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 1000 {
		t.Fatalf("%d numbers called, want 1000", len(seen))
	}
	for i := int64(10); i < 1010; i++ {
		if seen[i] != 1 {
			t.Fatalf("op(%d) called %d times, want once", i, seen[i])
		}
	}
}

func TestSpreadReturnsTheFirstErrorAndStops(t *testing.T) {
	boom := errors.New("boom")
	var mu sync.Mutex
	calls := 0
	_, err := benchrun.Spread(1, 0, 100, func(i int64) error {
		mu.Lock()
		calls++
		mu.Unlock()
		if i == 3 {
			return fmt.Errorf("op %d: %w", i, boom)
		}
		return nil
	})
	if !errors.Is(err, boom) || err.Error() != "op 3: boom" {
		t.Fatalf("err = %v, want op 3: boom", err)
	}
	if calls != 4 {
		t.Fatalf("one goroutine made %d calls, want 4 (it stops at the error)", calls)
	}
}

func ExampleSpread() {
	var mu sync.Mutex
	sum := int64(0)
	_, err := benchrun.Spread(4, 1, 101, func(i int64) error {
		mu.Lock()
		sum += i
		mu.Unlock()
		return nil
	})
	fmt.Println(sum, err)
	// Output: 5050 <nil>
}
