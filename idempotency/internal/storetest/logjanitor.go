package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hmsplatform/synclayer"
)

// LogJanitor checks a delivery log's RunJanitor: of an old synced entry
// and an old pending one (two hours old), put into writer, the janitor
// drops the synced one within a few rounds, so that l lists the pending
// one only; cancelling stops it with the context's error. run starts the
// janitor of l with a retention of an hour, rounds a few milliseconds
// apart, and onErr for its rounds' errors.
func LogJanitor(t *testing.T, writer, l synclayer.DeliveryLog, run func(ctx context.Context, onErr func(error)) error) {
	t.Helper()
	ctx := t.Context()
	old := time.Now().Add(-2 * time.Hour)
	for _, d := range []synclayer.Delivery{
		{EventID: "old-synced", Connector: "gis", State: synclayer.StatusSynced, Updated: old},
		{EventID: "old-pending", Connector: "gis", State: synclayer.StatusPending, Updated: old},
	} {
		if err := writer.Put(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	jctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- run(jctx, func(err error) { t.Errorf("janitor round: %v", err) })
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, err := l.List(ctx, synclayer.DeliveryFilter{})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) == 1 {
			if got[0].EventID != "old-pending" {
				t.Errorf("the janitor kept %q, want old-pending", got[0].EventID)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the janitor did not drop the old synced entry within 10s: %d entries", len(got))
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("RunJanitor returned %v, want context.Canceled", err)
	}
}
