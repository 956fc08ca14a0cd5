package synclayer_test

import (
	"context"
	"fmt"
	"log"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/synclayertest"
)

// Dispatch one event to two partners, then the same event again: the
// redelivery pushes nothing.
func ExampleDispatcher_Dispatch() {
	type deployed struct {
		WorkflowID string `json:"workflowId"`
		StartDate  string `json:"startDate"`
	}
	toRecord := synclayer.MapJSON(func(_ context.Context, ev synclayer.Event, w deployed) (synclayer.Record, error) {
		return synclayer.Record{Key: w.WorkflowID, Payload: w}, nil
	})

	calendar, records := synclayertest.NewFake(), synclayertest.NewFake()
	reg := new(synclayer.Registry)
	if err := reg.Register("calendar", calendar, synclayer.Route("WorkflowDeployed", toRecord)); err != nil {
		panic(err)
	}
	if err := reg.Register("records", records, synclayer.Route("WorkflowDeployed", toRecord)); err != nil {
		panic(err)
	}
	d, err := synclayer.NewDispatcher(reg, synclayer.WithObserver(synclayer.NoObserver))
	if err != nil {
		log.Fatal(err)
	}

	ev := synclayer.Event{
		ID:   "evt-1",
		Type: "WorkflowDeployed",
		Data: []byte(`{"workflowId":"WF-123","startDate":"2024-07-01"}`),
	}
	for range 2 {
		rep, err := d.Dispatch(context.Background(), ev)
		if err != nil {
			panic(err)
		}
		for _, r := range rep.Results {
			fmt.Println(r.Connector, r.Key, r.Status, r.Attempts)
		}
	}
	fmt.Println("calendar calls:", calendar.CallCount())
	// Output:
	// calendar WF-123 synced 1
	// records WF-123 synced 1
	// calendar WF-123 duplicate 0
	// records WF-123 duplicate 0
	// calendar calls: 1
}
