package config_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"google.golang.org/api/calendar/v3"

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

// goCalendar is the same mapping in Go, with MapJSON.
var goCalendar = synclayer.MapJSON(func(_ context.Context, ev synclayer.Event, w WorkflowDeployed) (synclayer.Record, error) {
	start, err := time.Parse(time.DateOnly, w.StartDate)
	if err != nil {
		return synclayer.Record{}, fmt.Errorf(`field "startDate": %w`, err)
	}
	return synclayer.Record{Key: w.WorkflowID, Version: ev.Time.UnixNano(), Payload: &calendar.Event{
		Summary:     "New Workflow: " + w.Name,
		Description: "ID: " + w.WorkflowID,
		Start:       &calendar.EventDateTime{Date: w.StartDate},
		End:         &calendar.EventDateTime{Date: start.AddDate(0, 0, 1).Format(time.DateOnly)},
	}}, nil
})

func calendarMapping(b testing.TB) synclayer.Mapper {
	cfg, err := config.Parse("bench.yaml", fmt.Appendf(nil, calendarConfig, 0))
	if err != nil {
		b.Fatal(err)
	}
	return cfg.Partners[0].Routes[0].Mapping()
}

// The CEL calendar mapping makes the same record as the Go one.
func TestCELCalendarMatchesGo(t *testing.T) {
	ev := workflowEvents()[1]
	want, err := goCalendar.Map(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	got, err := calendarMapping(t).Map(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	wj, _ := want.Payload.(*calendar.Event).MarshalJSON()
	gj, _ := got.Payload.(*calendar.Event).MarshalJSON()
	if got.Key != want.Key || got.Version != want.Version || string(gj) != string(wj) {
		t.Errorf("CEL: %s %d %s\nGo:  %s %d %s", got.Key, got.Version, gj, want.Key, want.Version, wj)
	}
}

// BenchmarkCalendarMapping compares the compiled CEL calendar mapping with
// the same mapping in MapJSON, in one run.
func BenchmarkCalendarMapping(b *testing.B) {
	ev := workflowEvents()[0]
	ctx := context.Background()
	for _, bc := range []struct {
		name string
		m    synclayer.Mapper
	}{{"MapJSON", goCalendar}, {"CEL", calendarMapping(b)}} {
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
