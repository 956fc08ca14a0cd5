package main

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/config"
	"github.com/hmsplatform/synclayer/examples/internal/demo"
)

// goMappers are this example's Go mappings of WorkflowDeployed, by the
// partner sync.yaml names.
var goMappers = map[string]synclayer.Mapper{
	"calendar": synclayer.MapJSON(toCalendarEvent),
	"gis":      synclayer.MapJSON(toFeature),
	"records":  synclayer.MapJSON(demo.ToRecord),
}

// celMapping returns the compiled CEL mapping of WorkflowDeployed that
// sync.yaml gives partner.
func celMapping(tb testing.TB, partner string) synclayer.Mapper {
	tb.Helper()
	cfg, err := config.Load("sync.yaml")
	if err != nil {
		tb.Fatal(err)
	}
	for _, p := range cfg.Partners {
		if p.Name == partner {
			return p.Routes[0].Mapping()
		}
	}
	tb.Fatalf("sync.yaml has no partner %q", partner)
	return nil
}

// deployedEvent is a WorkflowDeployed whose name needs escaping in JSON.
func deployedEvent() synclayer.Event {
	return demo.Deployed("evt-2", time.Date(2024, 6, 20, 10, 0, 0, 0, time.UTC),
		demo.WorkflowDeployed{WorkflowID: "WF-124", Name: "Ünïcode & <escapes> \"quoted\"", StartDate: "2024-08-01"})
}

// sync.yaml's CEL mappings make the same records as this example's Go
// ones: the same key and version, and payloads that encode to the same
// JSON.
func TestSyncYAMLMatchesGo(t *testing.T) {
	ev := deployedEvent()
	for partner, m := range goMappers {
		t.Run(partner, func(t *testing.T) {
			want, err := m.Map(context.Background(), ev)
			if err != nil {
				t.Fatal(err)
			}
			got, err := celMapping(t, partner).Map(context.Background(), ev)
			if err != nil {
				t.Fatal(err)
			}
			wj, err := json.Marshal(want.Payload)
			if err != nil {
				t.Fatal(err)
			}
			gj, err := json.Marshal(got.Payload)
			if err != nil {
				t.Fatal(err)
			}
			if got.Key != want.Key || got.Version != want.Version || string(gj) != string(wj) {
				t.Errorf("CEL: %s %d %s\nGo:  %s %d %s", got.Key, got.Version, gj, want.Key, want.Version, wj)
			}
		})
	}
}

// BenchmarkCalendarMapping compares sync.yaml's compiled CEL calendar
// mapping with this example's, in MapJSON, in one run.
func BenchmarkCalendarMapping(b *testing.B) {
	ev := deployedEvent()
	ctx := context.Background()
	for _, bc := range []struct {
		name string
		m    synclayer.Mapper
	}{{"MapJSON", goMappers["calendar"]}, {"CEL", celMapping(b, "calendar")}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := bc.m.Map(ctx, ev); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "mappings/s")
		})
	}
}
