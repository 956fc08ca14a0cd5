package synclayertest_test

import (
	"context"
	"fmt"
	"time"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/synclayertest"
)

// A fake partner that loses the response of its first write: the partner
// applied it, the dispatcher saw an error and retried, and the partner still
// holds one record.
func ExampleFake() {
	partner := synclayertest.NewFake()
	partner.Inject(synclayertest.Fault{Apply: true}) // applied, then the response was lost

	reg := new(synclayer.Registry)
	err := reg.Register("records", partner,
		synclayer.Route("PolicyUpdated", synclayer.MapperFunc(func(_ context.Context, ev synclayer.Event) (synclayer.Record, error) {
			return synclayer.Record{Key: ev.Subject, Version: 1}, nil
		})),
		synclayer.WithRetry(synclayer.RetryPolicy{InitialInterval: time.Millisecond}))
	if err != nil {
		panic(err)
	}
	d, err := synclayer.NewDispatcher(reg, synclayer.WithObserver(synclayer.NoObserver))
	if err != nil {
		panic(err)
	}
	rep, _ := d.Dispatch(context.Background(), synclayer.Event{ID: "evt-1", Type: "PolicyUpdated", Subject: "POL-7"})

	fmt.Println(rep.Results[0].Status, "after", rep.Results[0].Attempts, "attempts")
	fmt.Println("records:", len(partner.Records()), "writes:", partner.Writes("POL-7"))
	// Output:
	// synced after 2 attempts
	// records: 1 writes: 2
}
