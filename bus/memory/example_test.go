package memory_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/bus/memory"
)

// A handler that fails is redelivered; one that fails permanently is
// dead-lettered, and can be replayed once the cause is fixed.
func Example() {
	bus, err := memory.New(memory.WithRedeliveryDelay(time.Millisecond), memory.WithConcurrency(1))
	if err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())

	handled := make(chan string)
	tries := map[string]int{} // only the one handler slot touches it
	done := make(chan error)
	go func() {
		done <- bus.Subscribe(ctx, []string{"PolicyUpdated"}, func(_ context.Context, ev synclayer.Event) error {
			tries[ev.ID]++
			switch {
			case ev.ID == "pol-1" && tries[ev.ID] < 3:
				return errors.New("partner busy")
			case ev.ID == "pol-2" && tries[ev.ID] == 1:
				return synclayer.Permanent(errors.New("malformed policy"))
			}
			handled <- fmt.Sprintf("%s handled on delivery %d", ev.ID, tries[ev.ID])
			return nil
		})
	}()

	_ = bus.Publish(ctx, synclayer.Event{ID: "pol-1", Type: "PolicyUpdated"})
	fmt.Println(<-handled)

	_ = bus.Publish(ctx, synclayer.Event{ID: "pol-2", Type: "PolicyUpdated"})
	for len(bus.DeadLetters()) == 0 {
		time.Sleep(time.Millisecond)
	}
	dl := bus.DeadLetters()[0]
	fmt.Printf("dead letter: %s after %d delivery: %v\n", dl.Event.ID, dl.Deliveries, dl.Err)

	n, _ := bus.Replay(ctx, "pol-2")
	fmt.Println("replayed", n)
	fmt.Println(<-handled)

	cancel()
	<-done
	fmt.Println("close:", bus.Close(context.Background()))
	// Output:
	// pol-1 handled on delivery 3
	// dead letter: pol-2 after 1 delivery: malformed policy
	// replayed 1
	// pol-2 handled on delivery 2
	// close: <nil>
}
