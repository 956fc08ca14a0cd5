package closing_test

import (
	"context"
	"fmt"

	"github.com/hmsplatform/synclayer/bus/internal/closing"
)

// A Subscribe call enters the bus's Group, takes events until take ends,
// and leaves; Close waits for it, and later calls are refused.
func ExampleGroup() {
	var g closing.Group
	take, _, leave, ok := g.Enter(context.Background())
	fmt.Println("entered:", ok)
	done := make(chan struct{})
	go func() {
		<-take.Done() // Close started: stop taking events
		leave()
		close(done)
	}()
	fmt.Println("close:", g.Close(context.Background()))
	<-done
	_, _, _, ok = g.Enter(context.Background())
	fmt.Println("entered after Close:", ok, g.Closed())
	// Output:
	// entered: true
	// close: <nil>
	// entered after Close: false true
}
