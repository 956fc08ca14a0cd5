package demo_test

import (
	"testing"
	"time"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/examples/internal/demo"
)

// The workflows table, read as the source of truth, gives each workflow's
// last WorkflowDeployed event with its ID, time and data: the records a
// resync or a drift check maps from it carry the version the live event
// gave them.
func TestWorkflowsAreTheLastDeployedEvents(t *testing.T) {
	ctx := t.Context()
	p, err := demo.OpenPlatform(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	t0 := time.Date(2024, 6, 20, 9, 0, 0, 123456789, time.UTC)
	last := map[string]synclayer.Event{}
	for i, d := range []struct {
		id, name string
		at       time.Time
	}{
		{"WF-2", "First", t0},
		{"WF-1", "Second", t0.Add(time.Minute)},
		{"WF-2", "Renamed", t0.Add(time.Hour)},
	} {
		ev := demo.Deployed("evt-"+string(rune('a'+i)), d.at, demo.WorkflowDeployed{WorkflowID: d.id, Name: d.name, StartDate: "2024-07-01"})
		if err := p.Deploy(ctx, ev); err != nil {
			t.Fatal(err)
		}
		last[d.id] = ev
	}
	events, n, err := p.Workflows(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Errorf("count = %d, want 2", n)
	}
	var got []string
	for ev, err := range events {
		if err != nil {
			t.Fatal(err)
		}
		want := last[ev.Subject]
		got = append(got, ev.Subject)
		if ev.ID != want.ID || !ev.Time.Equal(want.Time) || ev.Time.UnixNano() != want.Time.UnixNano() ||
			string(ev.Data) != string(want.Data) || ev.Type != "WorkflowDeployed" {
			t.Errorf("source gives %s %s %s %s, want %s %s %s", ev.Subject, ev.ID, ev.Time, ev.Data, want.ID, want.Time, want.Data)
		}
	}
	if len(got) != 2 || got[0] != "WF-1" || got[1] != "WF-2" {
		t.Errorf("source gives %v, want [WF-1 WF-2] in ID order", got)
	}
}
