package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"sync"
	"time"

	"github.com/hmsplatform/synclayer"
)

// The account is printed as examples/workflowsync prints it, so that the
// two programs can be compared line by line.

// resultLog is an Observer that collects results per event, to print them
// in a stable order once the event is done.
type resultLog struct {
	mu      sync.Mutex
	changed chan struct{}
	byEvent map[string][]synclayer.Result
}

func newResultLog() *resultLog {
	return &resultLog{changed: make(chan struct{}), byEvent: map[string][]synclayer.Result{}}
}

func (l *resultLog) ObserveAttempt(context.Context, synclayer.Attempt) {}

func (l *resultLog) ObserveResult(_ context.Context, ev synclayer.Event, r synclayer.Result) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.byEvent[ev.ID] = append(l.byEvent[ev.ID], r)
	close(l.changed)
	l.changed = make(chan struct{})
}

// wait blocks until n results of event id are in.
func (l *resultLog) wait(ctx context.Context, id string, n int) error {
	for {
		l.mu.Lock()
		got, ch := len(l.byEvent[id]), l.changed
		l.mu.Unlock()
		if got >= n {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("waiting for %d results of %s: %w", n, id, ctx.Err())
		}
	}
}

// take returns the results of event id as text and forgets them.
func (l *resultLog) take(id string) string {
	l.mu.Lock()
	rs := l.byEvent[id]
	delete(l.byEvent, id)
	l.mu.Unlock()
	sort.Slice(rs, func(i, j int) bool { return rs[i].Connector < rs[j].Connector })
	var b bytes.Buffer
	for _, r := range rs {
		fmt.Fprintf(&b, "   %-9s %-7s %-9s attempts=%d", r.Connector, r.Key, r.Status, r.Attempts)
		if r.Err != nil {
			fmt.Fprintf(&b, " error=%v", r.Err)
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// publishAndWait publishes ev through publish (the outbox, or the bus for a
// redelivery) and waits for n results.
func publishAndWait(ctx context.Context, publish func(context.Context, synclayer.Event) error, l *resultLog, ev synclayer.Event, n int) error {
	if err := publish(ctx, ev); err != nil {
		return err
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return l.wait(wctx, ev.ID, n)
}

// printAnnouncement prints the next SyncCompleted or SyncFailed: in full,
// or as one line.
func printAnnouncement(ctx context.Context, out io.Writer, ch <-chan synclayer.Event, full bool) error {
	select {
	case ev := <-ch:
		if !full {
			fmt.Fprintf(out, "   announced %s for %s\n", ev.Type, ev.Subject)
			return nil
		}
		var a synclayer.Announcement
		if err := json.Unmarshal(ev.Data, &a); err != nil {
			return err
		}
		for i := range a.Results {
			a.Results[i].DurationMs = 0 // keep the account stable from run to run
		}
		data, _ := json.Marshal(a)
		fmt.Fprintf(out, "   announced %s (id %s) with data:\n   %s\n", ev.Type, ev.ID, data)
		return nil
	case <-time.After(10 * time.Second):
		return fmt.Errorf("no announcement within 10s")
	case <-ctx.Done():
		return ctx.Err()
	}
}
