package demo

import (
	"bytes"
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/hmsplatform/synclayer"
)

// ResultLog is an Observer that collects results per event, to print them
// in a stable order once the event is done. Give it to the Dispatcher the
// account runs ([synclayer.WithObserver], config.WithObserver).
type ResultLog struct {
	mu      sync.Mutex
	changed chan struct{}
	byEvent map[string][]synclayer.Result
}

// NewResultLog returns an empty log.
func NewResultLog() *ResultLog {
	return &ResultLog{changed: make(chan struct{}), byEvent: map[string][]synclayer.Result{}}
}

// ObserveAttempt ignores attempts: the account prints results.
func (l *ResultLog) ObserveAttempt(context.Context, synclayer.Attempt) {}

// ObserveResult keeps r under its event's ID.
func (l *ResultLog) ObserveResult(_ context.Context, ev synclayer.Event, r synclayer.Result) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.byEvent[ev.ID] = append(l.byEvent[ev.ID], r)
	close(l.changed)
	l.changed = make(chan struct{})
}

// wait blocks until n results of event id are in.
func (l *ResultLog) wait(ctx context.Context, id string, n int) error {
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

// take returns the results of event id as text, one line each in
// connector order, and forgets them.
func (l *ResultLog) take(id string) string {
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

// forget drops the results of every event: those of a drift repair or a
// resync, which the account reports its own way.
func (l *ResultLog) forget() {
	l.mu.Lock()
	defer l.mu.Unlock()
	clear(l.byEvent)
}

// publishAndWait publishes ev through publish (the outbox, or the bus for a
// redelivery) and waits for n results.
func publishAndWait(ctx context.Context, publish func(context.Context, synclayer.Event) error, l *ResultLog, ev synclayer.Event, n int) error {
	if err := publish(ctx, ev); err != nil {
		return fmt.Errorf("publish %s: %w", ev.ID, err)
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return l.wait(wctx, ev.ID, n)
}
