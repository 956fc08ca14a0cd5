package deliver_test

import (
	"context"
	"fmt"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/bus/internal/deliver"
)

// A bus calls the subscriber's handler through Call, so that a panic is
// one more failed delivery, not a crashed process.
func ExampleCall() {
	h := func(context.Context, synclayer.Event) error { panic("nil map") }
	err := deliver.Call(context.Background(), "nats", h, synclayer.Event{ID: "evt-1"})
	fmt.Println(err)
	// Output:
	// nats: handler panicked on event "evt-1": nil map
}
