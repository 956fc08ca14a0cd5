package config_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/config"
)

const calendarConfig = `
partners:
  - name: calendar%d
    kind: googlecalendar
    settings: {calendarId: ops}
    routes:
      WorkflowDeployed:
        key: data.workflowId
        version: unixNanos(event.time)
        record:
          summary: '"New Workflow: " + data.name'
          description: '"ID: " + data.workflowId'
          start: date(data.startDate)
          allDay: true
`

func calendarMapping(b testing.TB) synclayer.Mapper {
	cfg, err := config.Parse("bench.yaml", fmt.Appendf(nil, calendarConfig, 0))
	if err != nil {
		b.Fatal(err)
	}
	return cfg.Partners[0].Routes[0].Mapping()
}

// BenchmarkLoad50Partners loads and compiles a configuration of 50
// partners.
func BenchmarkLoad50Partners(b *testing.B) {
	var src strings.Builder
	src.WriteString("partners:\n")
	for i := range 50 {
		src.WriteString(strings.SplitN(fmt.Sprintf(calendarConfig, i), "partners:\n", 2)[1])
	}
	data := []byte(src.String())
	for b.Loop() {
		cfg, err := config.Parse("fifty.yaml", data)
		if err != nil {
			b.Fatal(err)
		}
		if len(cfg.Partners) != 50 {
			b.Fatalf("%d partners", len(cfg.Partners))
		}
	}
}

// BenchmarkMapNestedData maps an event whose data holds about forty
// values (nested objects and lists) with a route that reads two of them:
// the cost of decoding data for CEL, which every event of every route
// pays, beside the expressions themselves.
func BenchmarkMapNestedData(b *testing.B) {
	cfg, err := config.Parse("bench.yaml", []byte(restKeyed+`        record: {name: data.name}
`))
	if err != nil {
		b.Fatal(err)
	}
	m := cfg.Partners[0].Routes[0].Mapping()
	ev := synclayer.Event{ID: "e", Type: "A", Data: []byte(`{"id": "WF-17", "name": "Workflow WF-17", "owner": "ops", "region": "north", "risk": "low", "version": 4,
	"steps": [{"n": 1, "kind": "review", "by": "a", "ok": true}, {"n": 2, "kind": "approve", "by": "b", "ok": true},
	{"n": 3, "kind": "deploy", "by": "c", "ok": false}, {"n": 4, "kind": "notify", "by": "d", "ok": true}],
	"tags": ["a", "b", "c"], "meta": {"created": "2026-01-01", "updated": "2026-02-01", "source": "x"}}`)}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.Map(ctx, ev); err != nil {
			b.Fatal(err)
		}
	}
}
