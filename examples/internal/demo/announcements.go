package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/drift"
)

// announcements is the operator console: it hears what the Dispatcher
// announces (SyncCompleted, SyncFailed) and what a drift reconciler does
// (DriftDetected, DriftRepaired) on the bus.
type announcements struct {
	sync, drift chan synclayer.Event
}

// listen subscribes to the announcements on bus until ctx ends.
func listen(ctx context.Context, bus synclayer.Subscriber) (*announcements, func() error) {
	a := &announcements{sync: make(chan synclayer.Event, 8), drift: make(chan synclayer.Event, 8)}
	types := []string{synclayer.SyncCompleted, synclayer.SyncFailed, drift.Detected, drift.Repaired}
	return a, func() error {
		return bus.Subscribe(ctx, types, func(_ context.Context, ev synclayer.Event) error {
			switch ev.Type {
			case drift.Detected, drift.Repaired:
				a.drift <- ev
			default:
				a.sync <- ev
			}
			return nil
		})
	}
}

// next returns the next event of ch, or an error after 10s.
func next(ctx context.Context, ch <-chan synclayer.Event) (synclayer.Event, error) {
	select {
	case ev := <-ch:
		return ev, nil
	case <-time.After(10 * time.Second):
		return synclayer.Event{}, fmt.Errorf("no announcement within 10s")
	case <-ctx.Done():
		return synclayer.Event{}, ctx.Err()
	}
}

// printSync prints the next SyncCompleted or SyncFailed: in full, or as
// one line.
func (a *announcements) printSync(ctx context.Context, out io.Writer, full bool) error {
	ev, err := next(ctx, a.sync)
	if err != nil {
		return err
	}
	if !full {
		fmt.Fprintf(out, "   announced %s for %s\n", ev.Type, ev.Subject)
		return nil
	}
	var an synclayer.Announcement
	if err := json.Unmarshal(ev.Data, &an); err != nil {
		return fmt.Errorf("announcement %s: %w", ev.ID, err)
	}
	for i := range an.Results {
		an.Results[i].DurationMs = 0 // keep the account stable from run to run
	}
	data, _ := json.Marshal(an)
	fmt.Fprintf(out, "   announced %s (id %s) with data:\n   %s\n", ev.Type, ev.ID, data)
	return nil
}

// printDrift waits for n drift announcements and prints them in the order
// of their types (DriftDetected before DriftRepaired), each with its
// report. Their IDs carry the time, so they are left out.
func (a *announcements) printDrift(ctx context.Context, out io.Writer, n int) error {
	var detected, repaired []synclayer.Event
	for range n {
		ev, err := next(ctx, a.drift)
		if err != nil {
			return err
		}
		if ev.Type == drift.Detected {
			detected = append(detected, ev)
		} else {
			repaired = append(repaired, ev)
		}
	}
	for _, ev := range append(detected, repaired...) {
		var r drift.Report
		if err := json.Unmarshal(ev.Data, &r); err != nil {
			return fmt.Errorf("%s announcement: %w", ev.Type, err)
		}
		fmt.Fprintf(out, "   announced %-13s connector=%s key=%s drift=%s fields=%v version=%d\n", ev.Type, r.Connector, r.Key, r.Drift, r.Fields, r.Version)
	}
	return nil
}
