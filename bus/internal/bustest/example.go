package bustest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/synclayertest"
)

// ExampleFlow checks the frame that the bus packages' Examples share, each
// around the steps particular to its bus; an Example needs its broker and
// so has no Output line. bus is made as the Example makes it (group
// "calendar-sync"), and is ready to keep events of type "WorkflowDeployed"
// for its group. publish, the Example's own publishing, must return nil;
// then one Subscribe to "WorkflowDeployed" hands its handler's n-th call
// (from 1) to h, which returns the handler's error and calls stop to end
// the Subscribe, which must then return nil; and Close must return nil.
// ExampleFlow returns the events the handler received, in order, for the
// caller to check against what its Example prints ([SameEvents]).
func ExampleFlow(t *testing.T, bus Bus, publish func(context.Context) error, h func(n int, stop func()) error) []synclayer.Event {
	t.Helper()
	ctx := synclayertest.Within(t, 30*time.Second)
	if err := publish(ctx); err != nil {
		t.Fatalf("publish: %v", err)
	}
	var (
		mu  sync.Mutex
		got []synclayer.Event
	)
	subCtx, stop := context.WithCancel(ctx)
	err := bus.Subscribe(subCtx, []string{"WorkflowDeployed"}, func(_ context.Context, ev synclayer.Event) error {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, ev)
		return h(len(got), stop)
	})
	if err != nil {
		t.Errorf("Subscribe returned %v, want nil", err)
	}
	if err := bus.Close(ctx); err != nil {
		t.Errorf("Close: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	return got
}

// SameEvents checks that got holds the events of want, in order, intact:
// the same ID, type and data.
func SameEvents(t testing.TB, got []synclayer.Event, want ...synclayer.Event) {
	t.Helper()
	same := len(got) == len(want)
	for i := 0; same && i < len(got); i++ {
		same = got[i].ID == want[i].ID && got[i].Type == want[i].Type && string(got[i].Data) == string(want[i].Data)
	}
	if !same {
		t.Errorf("received %+v, want %+v", got, want)
	}
}
