package outbox_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/bus"
	"github.com/hmsplatform/synclayer/internal/testwait"
)

// batchRecorder is a recorder that is also a bus.BatchPublisher: it
// records each batch's size and refuses the events fail refuses, one by
// one, through a bus.BatchError.
type batchRecorder struct {
	*recorder
	mu      sync.Mutex
	batches int
}

func (b *batchRecorder) PublishBatch(ctx context.Context, evs []synclayer.Event) error {
	b.mu.Lock()
	b.batches++
	b.mu.Unlock()
	errs := make([]error, len(evs))
	failed := false
	for i, ev := range evs {
		if errs[i] = b.Publish(ctx, ev); errs[i] != nil {
			failed = true
		}
	}
	if failed {
		return &bus.BatchError{Errs: errs}
	}
	return nil
}

// TestRelayPublishesBatches: a relay hands a BatchPublisher whole
// batches; an event the batch reports as failed is given back and
// published later, the others of the batch are not published again, and
// the later events of the failed event's subject wait for it.
func TestRelayPublishesBatches(t *testing.T) {
	c := dbCases[2]
	db := c.open(t)
	ob := newOutbox(t, db, c.dialect)
	rec := newRecorder()
	var mu sync.Mutex
	refused := 0
	rec.fail = func(ev synclayer.Event) error {
		mu.Lock()
		defer mu.Unlock()
		if ev.ID == "e-3" && refused < 2 {
			refused++
			return errors.New("bus refuses e-3 for now")
		}
		return nil
	}
	pub := &batchRecorder{recorder: rec}
	var evs []synclayer.Event
	for i := range 40 {
		evs = append(evs, synclayer.Event{ID: fmt.Sprint("e-", i), Type: "T", Subject: fmt.Sprint("k", i%10)})
	}
	writeCommitted(t, t.Context(), db, ob, evs...)
	startRelay(t, ob, pub)
	testwait.For(t, 20*time.Second, func() string { return fmt.Sprintf("%d of 40 events published", rec.distinct()) },
		func() bool { return rec.distinct() == 40 })
	testwait.For(t, 20*time.Second, func() string { return "the table to empty" }, func() bool {
		n, _, err := ob.Backlog(t.Context())
		return err == nil && n == 0
	})
	for _, ev := range evs {
		if n := rec.count(ev.ID); n != 1 {
			t.Errorf("event %s published %d times, want once", ev.ID, n)
		}
	}
	// Per subject, in the order written: e-3, e-13, e-23, e-33 for k3.
	last := map[string]int{}
	for _, ev := range rec.events() {
		var i int
		fmt.Sscanf(ev.ID, "e-%d", &i)
		if p, ok := last[ev.Subject]; ok && p > i {
			t.Errorf("subject %s: event e-%d published after e-%d", ev.Subject, i, p)
		}
		last[ev.Subject] = i
	}
	pub.mu.Lock()
	defer pub.mu.Unlock()
	mu.Lock()
	defer mu.Unlock()
	if refused != 2 {
		t.Errorf("e-3 refused %d times, want 2", refused)
	}
	// Each round claims the head of each of the 10 subjects: 4 rounds at least.
	if pub.batches < 4 {
		t.Errorf("%d batches for 40 events over 10 subjects; want at least 4 (one head per subject each)", pub.batches)
	}
}
