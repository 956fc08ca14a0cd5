package config_test

import (
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
