package bus_test

import (
	"errors"
	"fmt"

	"github.com/hmsplatform/synclayer/bus"
)

// A caller of PublishBatch decides event by event: here the second of
// three events was refused and is published again later.
func ExampleBatchError() {
	var err error = &bus.BatchError{Errs: []error{nil, errors.New("stream full"), nil}}
	var be *bus.BatchError
	if errors.As(err, &be) {
		for i, e := range be.Errs {
			if e != nil {
				fmt.Printf("event %d again later: %v\n", i, e)
			}
		}
	}
	fmt.Println(err)
	// Output:
	// event 1 again later: stream full
	// bus: publish batch: 1 of 3 events failed, first: stream full
}
