package synclayer_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/synclayertest"
)

func put(t *testing.T, l *synclayer.MemoryLog, id string, st synclayer.Status) error {
	t.Helper()
	return l.Put(context.Background(), synclayer.Delivery{EventID: id, Connector: "c", State: st})
}

func listIDs(t *testing.T, l *synclayer.MemoryLog, states ...synclayer.Status) string {
	t.Helper()
	got, err := l.List(context.Background(), synclayer.DeliveryFilter{States: states, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, d := range got {
		ids = append(ids, d.EventID)
	}
	return strings.Join(ids, " ")
}

// A full memory log forgets settled entries first, then dead letters, and
// never a pending entry: a new entry that could only fit by dropping one is
// refused with an error.
func TestMemoryLogNeverForgetsPending(t *testing.T) {
	l := &synclayer.MemoryLog{MaxEntries: 4}
	for i, st := range []synclayer.Status{synclayer.StatusPending, synclayer.StatusDead, synclayer.StatusSynced, synclayer.StatusPending} {
		if err := put(t, l, fmt.Sprint("e", i), st); err != nil {
			t.Fatal(err)
		}
	}
	if err := put(t, l, "e4", synclayer.StatusSynced); err != nil { // forgets e2, the settled one
		t.Fatal(err)
	}
	if got := listIDs(t, l); got != "e4 e3 e1 e0" {
		t.Fatalf("after one eviction: %q", got)
	}
	if err := put(t, l, "e5", synclayer.StatusPending); err != nil { // forgets e4, then nothing settled is left
		t.Fatal(err)
	}
	if err := put(t, l, "e6", synclayer.StatusPending); err != nil { // forgets the dead letter e1
		t.Fatal(err)
	}
	if got := listIDs(t, l); got != "e6 e5 e3 e0" {
		t.Fatalf("after evicting settled then dead: %q", got)
	}
	if err := put(t, l, "e7", synclayer.StatusPending); err == nil || err.Error() != "delivery log full of pending entries" {
		t.Fatalf("pending put into a log full of pending = %v, want the log-full error", err)
	}
	if got := listIDs(t, l, synclayer.StatusPending); got != "e6 e5 e3 e0" {
		t.Fatalf("pending entries after a refused put: %q", got)
	}
	// An update in place of a pending entry needs no room.
	if err := put(t, l, "e0", synclayer.StatusSynced); err != nil {
		t.Fatal(err)
	}
	if got := listIDs(t, l); got != "e0 e6 e5 e3" {
		t.Fatalf("after an update: %q", got)
	}
}

// The log is bounded in bytes too: kept events count.
func TestMemoryLogBoundsBytes(t *testing.T) {
	l := &synclayer.MemoryLog{MaxEntries: 0, MaxBytes: 64 << 10}
	ev := &synclayer.Event{ID: "x", Type: "T", Data: []byte(strings.Repeat("a", 10<<10))}
	for i := range 100 {
		if err := l.Put(context.Background(), synclayer.Delivery{EventID: fmt.Sprint("e", i), Connector: "c", State: synclayer.StatusDead, Event: ev}); err != nil {
			t.Fatal(err)
		}
	}
	if n := l.Len(); n < 4 || n > 6 {
		t.Fatalf("%d entries of 10 KiB kept under a 64 KiB bound", n)
	}
	if got := listIDs(t, l); !strings.HasPrefix(got, "e99 e98") {
		t.Fatalf("kept %q, want the newest", got)
	}
}

// The zero values of Registry, MemoryStore and MemoryLog are ready to use.
func TestZeroValuesWork(t *testing.T) {
	var reg synclayer.Registry
	fake := synclayertest.NewFake()
	must(t, reg.Register("p0", fake, synclayer.Route("WorkflowDeployed", keyMapper)))
	var store synclayer.MemoryStore
	var log synclayer.MemoryLog
	d := synclayertest.NewDispatcher(t, &reg, synclayer.WithObserver(synclayer.NoObserver), synclayer.WithStore(&store), synclayer.WithDeliveryLog(&log))
	for range 2 {
		if _, err := d.Dispatch(t.Context(), event("e1", "K", 1)); err != nil {
			t.Fatal(err)
		}
	}
	if fake.CallCount() != 1 || log.Len() != 1 {
		t.Fatalf("%d calls, %d log entries; want 1 and 1", fake.CallCount(), log.Len())
	}
	if done, versions, _ := store.Len(); done != 1 || versions != 1 {
		t.Fatalf("store holds %d markers and %d versions", done, versions)
	}
}

// A delivery's JSON carries its duration in milliseconds, like
// announcements, and decodes back.
func TestDeliveryJSONUsesMilliseconds(t *testing.T) {
	d := synclayer.Delivery{EventID: "e1", Connector: "c", State: synclayer.StatusSynced, Duration: 1500 * time.Millisecond}
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"durationMs":1500`) || strings.Contains(string(b), "durationNs") || !strings.Contains(string(b), `"state":"synced"`) {
		t.Fatalf("JSON = %s", b)
	}
	var back synclayer.Delivery
	if err := json.Unmarshal(b, &back); err != nil || back.Duration != d.Duration || back.EventID != "e1" || back.State != synclayer.StatusSynced {
		t.Fatalf("decoded %+v, %v", back, err)
	}
}
