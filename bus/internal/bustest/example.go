package bustest

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/synclayertest"
)

// ExampleFlow checks the steps of a bus package's Example, which needs its
// broker and so has no Output line: the event published arrives intact,
// Subscribe returns nil once its context ends, and Close returns nil. bus
// is made as the Example makes it (group "calendar-sync"), and is ready to
// keep events of type "WorkflowDeployed" for its group.
func ExampleFlow(t *testing.T, bus Bus) {
	ctx := synclayertest.Within(t, 30*time.Second)
	want := synclayer.Event{ID: "evt-1", Type: "WorkflowDeployed", Data: json.RawMessage(`{"id":"WF-123"}`)}
	if err := bus.Publish(ctx, want); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	var got synclayer.Event
	subCtx, stop := context.WithCancel(ctx)
	err := bus.Subscribe(subCtx, []string{"WorkflowDeployed"}, func(_ context.Context, ev synclayer.Event) error {
		got = ev
		stop()
		return nil
	})
	if err != nil {
		t.Errorf("Subscribe returned %v, want nil", err)
	}
	if got.ID != want.ID || got.Type != want.Type || string(got.Data) != string(want.Data) {
		t.Errorf("received %+v, want %+v", got, want)
	}
	if err := bus.Close(ctx); err != nil {
		t.Errorf("Close: %v", err)
	}
}
