package synclayer_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/hmsplatform/synclayer"
)

// A connector marks what may succeed later and what never will; the
// dispatcher retries only the former.
func ExampleRetryPolicy() {
	calls := 0
	flaky := synclayer.ConnectorFunc(func(ctx context.Context, rec synclayer.Record) error {
		calls++
		if calls < 3 {
			return synclayer.RetryAfter(errors.New("503 Service Unavailable"), 10*time.Millisecond)
		}
		return nil
	})
	reg := new(synclayer.Registry)
	err := reg.Register("records", flaky,
		synclayer.Route("PolicyUpdated", synclayer.MapperFunc(func(_ context.Context, ev synclayer.Event) (synclayer.Record, error) {
			return synclayer.Record{Key: ev.Subject}, nil
		})),
		synclayer.WithRetry(synclayer.RetryPolicy{MaxAttempts: 5, InitialInterval: time.Millisecond}),
		synclayer.WithTimeout(2*time.Second))
	if err != nil {
		panic(err)
	}
	d, err := synclayer.NewDispatcher(reg, synclayer.WithObserver(synclayer.NoObserver))
	if err != nil {
		log.Fatal(err)
	}
	rep, err := d.Dispatch(context.Background(), synclayer.Event{ID: "evt-7", Type: "PolicyUpdated", Subject: "POL-9"})
	fmt.Println(rep.Results[0].Status, rep.Results[0].Attempts, err)
	// Output: synced 3 <nil>
}

// Permanent errors are not retried, and the error names event, connector
// and key.
func ExamplePermanent() {
	reject := synclayer.ConnectorFunc(func(context.Context, synclayer.Record) error {
		return synclayer.Permanent(errors.New("400 Bad Request: title is required"))
	})
	reg := new(synclayer.Registry)
	_ = reg.Register("records", reject, synclayer.Route("PolicyUpdated", synclayer.MapperFunc(
		func(_ context.Context, ev synclayer.Event) (synclayer.Record, error) {
			return synclayer.Record{Key: ev.Subject}, nil
		})))
	d, err := synclayer.NewDispatcher(reg, synclayer.WithObserver(synclayer.NoObserver))
	if err != nil {
		log.Fatal(err)
	}
	rep, err := d.Dispatch(context.Background(), synclayer.Event{ID: "evt-8", Type: "PolicyUpdated", Subject: "POL-9"})
	fmt.Println(rep.Results[0].Attempts, synclayer.IsPermanent(err))
	fmt.Println(err)
	// Output:
	// 1 true
	// synclayer: event "evt-8" ("PolicyUpdated") connector "records" key "POL-9": sync: 400 Bad Request: title is required
}
