package synclayer_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hmsplatform/synclayer"
)

func TestStatusNamesAndFinal(t *testing.T) {
	for _, c := range []struct {
		s     synclayer.Status
		name  string
		final bool
	}{
		{0, "Status(0)", false},
		{synclayer.StatusPending, "pending", false},
		{synclayer.StatusInProgress, "in_progress", false},
		{synclayer.StatusSynced, "synced", true},
		{synclayer.StatusDuplicate, "duplicate", true},
		{synclayer.StatusStale, "stale", true},
		{synclayer.StatusFailed, "failed", false},
		{synclayer.StatusDead, "dead", true},
		{synclayer.StatusDead + 1, fmt.Sprintf("Status(%d)", int(synclayer.StatusDead)+1), false},
		{-1, "Status(-1)", false},
	} {
		if got := c.s.String(); got != c.name {
			t.Errorf("Status(%d).String() = %q, want %q", int(c.s), got, c.name)
		}
		if got := c.s.Final(); got != c.final {
			t.Errorf("%s.Final() = %v, want %v", c.name, got, c.final)
		}
		if c.final || c.s == synclayer.StatusPending || c.s == synclayer.StatusInProgress || c.s == synclayer.StatusFailed {
			var got synclayer.Status
			if err := got.UnmarshalText([]byte(c.name)); err != nil || got != c.s {
				t.Errorf("UnmarshalText(%q) = %v, %v; want %d", c.name, got, err, int(c.s))
			}
		}
	}
}

func TestDeliveryFilterMatchesEveryField(t *testing.T) {
	at := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	d := synclayer.Delivery{EventID: "e1", EventType: "WorkflowDeployed", Connector: "calendar", Key: "WF-1",
		State: synclayer.StatusSynced, Updated: at}
	for _, c := range []struct {
		name string
		f    synclayer.DeliveryFilter
		want bool
	}{
		{"empty", synclayer.DeliveryFilter{}, true},
		{"event", synclayer.DeliveryFilter{EventID: "e1"}, true},
		{"other event", synclayer.DeliveryFilter{EventID: "e2"}, false},
		{"type", synclayer.DeliveryFilter{EventType: "WorkflowDeployed"}, true},
		{"other type", synclayer.DeliveryFilter{EventType: "PolicyUpdated"}, false},
		{"connector", synclayer.DeliveryFilter{Connector: "calendar"}, true},
		{"other connector", synclayer.DeliveryFilter{Connector: "gis"}, false},
		{"key", synclayer.DeliveryFilter{Key: "WF-1"}, true},
		{"other key", synclayer.DeliveryFilter{Key: "WF-2"}, false},
		{"state", synclayer.DeliveryFilter{States: []synclayer.Status{synclayer.StatusDead, synclayer.StatusSynced}}, true},
		{"other state", synclayer.DeliveryFilter{States: []synclayer.Status{synclayer.StatusDead}}, false},
		{"since before", synclayer.DeliveryFilter{Since: at.Add(-time.Second)}, true},
		{"since at", synclayer.DeliveryFilter{Since: at}, true},
		{"since after", synclayer.DeliveryFilter{Since: at.Add(time.Second)}, false},
		{"all fields", synclayer.DeliveryFilter{EventID: "e1", EventType: "WorkflowDeployed", Connector: "calendar", Key: "WF-1",
			States: []synclayer.Status{synclayer.StatusSynced}, Since: at}, true},
	} {
		if got := c.f.Match(&d); got != c.want {
			t.Errorf("%s: Match = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestDeliveryFilterMax(t *testing.T) {
	for limit, want := range map[int]int{-1: 100, 0: 100, 1: 1, 250: 250, 10_000: 10_000, 10_001: 10_000} {
		if got := (synclayer.DeliveryFilter{Limit: limit}).Max(); got != want {
			t.Errorf("Limit %d: Max() = %d, want %d", limit, got, want)
		}
	}
}

// logIDs lists the event IDs of the log's entries, newest first.
func logIDs(t *testing.T, l *synclayer.MemoryLog, f synclayer.DeliveryFilter) []string {
	t.Helper()
	ds, err := l.List(t.Context(), f)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.EventID
	}
	return out
}

func logPut(t *testing.T, l *synclayer.MemoryLog, id string, st synclayer.Status) {
	t.Helper()
	if err := l.Put(t.Context(), synclayer.Delivery{EventID: id, Connector: "p", Key: "K", State: st}); err != nil {
		t.Fatal(err)
	}
}

// The memory log keeps max records, lists the entries they make newest
// first within the limit, replaces an entry of the same (event,
// connector), and when full forgets final entries before pending and dead
// ones.
func TestMemoryLogBoundAndEviction(t *testing.T) {
	t.Run("keeps max records", func(t *testing.T) {
		l := &synclayer.MemoryLog{MaxEntries: 3}
		for _, id := range []string{"a", "b", "c"} {
			logPut(t, l, id, synclayer.StatusSynced)
		}
		if diff := cmp.Diff([]string{"c", "b", "a"}, logIDs(t, l, synclayer.DeliveryFilter{})); diff != "" {
			t.Fatalf("entries (-want +got):\n%s", diff)
		}
		// b's new record replaces its entry and moves it to the front; its
		// old record counts toward the bound until the log passes it, so the
		// oldest, a, goes.
		logPut(t, l, "b", synclayer.StatusDead)
		if diff := cmp.Diff([]string{"b", "c"}, logIDs(t, l, synclayer.DeliveryFilter{})); diff != "" {
			t.Fatalf("after replacing b (-want +got):\n%s", diff)
		}
		logPut(t, l, "d", synclayer.StatusSynced)
		if diff := cmp.Diff([]string{"d", "b", "c"}, logIDs(t, l, synclayer.DeliveryFilter{})); diff != "" {
			t.Fatalf("after a fourth entry (-want +got):\n%s", diff)
		}
		if l.Len() != 3 {
			t.Fatalf("Len() = %d, want 3", l.Len())
		}
	})
	t.Run("limit", func(t *testing.T) {
		l := new(synclayer.MemoryLog)
		for i := range 5 {
			logPut(t, l, fmt.Sprint("e", i), synclayer.StatusSynced)
		}
		if diff := cmp.Diff([]string{"e4", "e3"}, logIDs(t, l, synclayer.DeliveryFilter{Limit: 2})); diff != "" {
			t.Fatalf("Limit 2 (-want +got):\n%s", diff)
		}
		if got := logIDs(t, l, synclayer.DeliveryFilter{EventID: "e2", Connector: "p"}); !cmp.Equal(got, []string{"e2"}) {
			t.Fatalf("by event and connector: %v, want [e2]", got)
		}
		if got := logIDs(t, l, synclayer.DeliveryFilter{EventID: "e2", Connector: "p", States: []synclayer.Status{synclayer.StatusDead}}); len(got) != 0 {
			t.Fatalf("by event, connector and another state: %v, want none", got)
		}
	})
	for _, held := range []synclayer.Status{synclayer.StatusPending, synclayer.StatusDead} {
		t.Run("keeps "+held.String(), func(t *testing.T) {
			l := &synclayer.MemoryLog{MaxEntries: 2}
			logPut(t, l, "old", held)
			logPut(t, l, "synced", synclayer.StatusSynced)
			logPut(t, l, "new", synclayer.StatusSynced)
			if diff := cmp.Diff([]string{"new", "old"}, logIDs(t, l, synclayer.DeliveryFilter{})); diff != "" {
				t.Fatalf("the full log forgot the wrong entry (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("nothing final", func(t *testing.T) {
		l := &synclayer.MemoryLog{MaxEntries: 2}
		logPut(t, l, "a", synclayer.StatusPending)
		logPut(t, l, "b", synclayer.StatusDead)
		logPut(t, l, "c", synclayer.StatusPending)
		// A pending entry is never forgotten: the dead letter goes.
		if diff := cmp.Diff([]string{"c", "a"}, logIDs(t, l, synclayer.DeliveryFilter{})); diff != "" {
			t.Fatalf("with nothing final the dead letter goes (-want +got):\n%s", diff)
		}
	})
}
