package ctxsleep_test

import (
	"context"
	"fmt"
	"time"

	"github.com/hmsplatform/synclayer/internal/ctxsleep"
)

// A retry loop waits between attempts, and gives up as soon as its caller
// does.
func ExampleSleep() {
	ctx, cancel := context.WithCancel(context.Background())
	fmt.Println(ctxsleep.Sleep(ctx, time.Millisecond))
	cancel()
	fmt.Println(ctxsleep.Sleep(ctx, time.Hour))
	// Output:
	// <nil>
	// context canceled
}
