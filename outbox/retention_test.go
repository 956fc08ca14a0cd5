package outbox_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/internal/testwait"
	"github.com/hmsplatform/synclayer/outbox"
)

// TestTableStaysBounded writes ten waves of 1,000 events while a relay
// runs, and counts the table's rows: after each wave is published the
// table is empty again, so it holds at most the backlog however long the
// run.
func TestTableStaysBounded(t *testing.T) {
	const waves, perWave = 10, 1000
	eachDB(t, func(t *testing.T, c dbCase) {
		db := c.open(t)
		ob := newOutbox(t, db, c.dialect, outbox.WithPollInterval(10*time.Millisecond))
		rec := newRecorder()
		startRelay(t, ob, rec)
		ctx := t.Context()
		rows := func() int64 {
			var n int64
			if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+ob.Table()).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		peak := int64(0)
		for wave := range waves {
			for i := 0; i < perWave; i += 100 {
				evs := make([]synclayer.Event, 100)
				for j := range evs {
					evs[j] = synclayer.Event{ID: fmt.Sprintf("w%d-%d", wave, i+j), Type: "ItemChanged",
						Subject: fmt.Sprintf("k%d", (i+j)%200), Data: []byte(`{}`)}
				}
				writeCommitted(t, ctx, db, ob, evs...)
				peak = max(peak, rows())
			}
			testwait.For(t, 30*time.Second, func() string {
				return fmt.Sprintf("wave %d: %d rows left, %d of %d events published", wave, rows(), rec.distinct(), (wave+1)*perWave)
			}, func() bool { return rows() == 0 })
		}
		if n, oldest, err := ob.Backlog(context.Background()); err != nil || n != 0 || !oldest.IsZero() {
			t.Errorf("Backlog() = %d, %v, %v; want 0, zero time, nil", n, oldest, err)
		}
		if got := rec.distinct(); got != waves*perWave {
			t.Errorf("published %d distinct events, want %d", got, waves*perWave)
		}
		if peak > perWave {
			t.Errorf("the table held %d rows at its peak, more than one wave (%d)", peak, perWave)
		}
		t.Logf("%s: %d events in %d waves; the table peaked at %d rows and was empty after each wave", c.name, waves*perWave, waves, peak)
	})
}

// TestBacklog reports the count and the age of the waiting events.
func TestBacklog(t *testing.T) {
	eachDB(t, func(t *testing.T, c dbCase) {
		db := c.open(t)
		ob := newOutbox(t, db, c.dialect)
		ctx := t.Context()
		before := time.Now().Add(-2 * time.Second) // database and test clocks may differ slightly
		writeCommitted(t, ctx, db, ob, synclayer.Event{ID: "a", Type: "T"}, synclayer.Event{ID: "b", Type: "T"})
		n, oldest, err := ob.Backlog(ctx)
		if err != nil || n != 2 || oldest.Before(before) || oldest.After(time.Now().Add(2*time.Second)) {
			t.Fatalf("Backlog() = %d, %v, %v; want 2, about now, nil", n, oldest, err)
		}
	})
}
