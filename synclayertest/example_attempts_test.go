package synclayertest_test

import (
	"context"
	"fmt"
	"time"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/synclayertest"
)

// A partner that asks to be retried after 50ms: Attempts shows that the
// dispatcher waited as asked rather than its policy's 1ms.
func ExampleAttempts() {
	partner := synclayertest.NewFake()
	partner.Inject(synclayertest.Fault{Err: synclayer.RetryAfter(synclayertest.ErrUnavailable, 50*time.Millisecond)})

	reg := new(synclayer.Registry)
	err := reg.Register("records", partner,
		synclayer.Route("PolicyUpdated", synclayer.MapperFunc(func(_ context.Context, ev synclayer.Event) (synclayer.Record, error) {
			return synclayer.Record{Key: ev.Subject, Version: 1}, nil
		})),
		synclayer.WithRetry(synclayer.RetryPolicy{InitialInterval: time.Millisecond, Jitter: -1}))
	if err != nil {
		panic(err)
	}
	attempts := new(synclayertest.Attempts)
	d, err := synclayer.NewDispatcher(reg, synclayer.WithObserver(attempts))
	if err != nil {
		panic(err)
	}
	_, _ = d.Dispatch(context.Background(), synclayer.Event{ID: "evt-1", Type: "PolicyUpdated", Subject: "POL-7"})

	for _, a := range attempts.List() {
		fmt.Printf("attempt %d: error %v, then wait %v\n", a.Attempt, a.Err != nil, a.Wait)
	}
	// Output:
	// attempt 1: error true, then wait 50ms
	// attempt 2: error false, then wait 0s
}
