package janitor_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hmsplatform/synclayer/idempotency/internal/janitor"
)

// A round's error goes to onErr and the loop goes on; it ends with its
// context.
func ExampleRun() {
	ctx, cancel := context.WithCancel(context.Background())
	rounds := 0
	err := janitor.Run(ctx, time.Millisecond, func(err error) { fmt.Println("round failed:", err) },
		func(context.Context) error {
			rounds++
			switch rounds {
			case 1:
				return errors.New("table locked")
			case 3:
				cancel()
			}
			return nil
		})
	fmt.Println(rounds, err)
	// Output:
	// round failed: table locked
	// 3 context canceled
}
