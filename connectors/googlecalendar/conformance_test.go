package googlecalendar_test

import (
	"context"
	"fmt"
	"testing"

	"google.golang.org/api/calendar/v3"

	"github.com/hmsplatform/synclayer/connectors/googlecalendar/calendartest"
	"github.com/hmsplatform/synclayer/connectors/internal/conntest"
	"github.com/hmsplatform/synclayer/synclayertest"
)

func TestConformance(t *testing.T) {
	synclayertest.TestConnector(t, synclayertest.ConnectorHarness{
		Delete: true,
		Payload: func(key string, version int64) any {
			return &calendar.Event{
				Summary:     fmt.Sprintf("payload v%d", version),
				Description: "key " + key,
				Start:       &calendar.EventDateTime{DateTime: "2026-05-04T09:00:00Z"},
				End:         &calendar.EventDateTime{DateTime: "2026-05-04T10:00:00Z"},
			}
		},
		NewPartner: func(t *testing.T) *synclayertest.Partner {
			f := newFakeCalendar(t)
			return &synclayertest.Partner{
				Connector: newConnector(t, f),
				Lookup: func(_ context.Context, key string) ([]int64, error) {
					var summaries []string
					for _, ev := range f.byKey(calID, key) {
						summaries = append(summaries, ev.Summary)
					}
					return conntest.SummaryVersions(summaries)
				},
				Fail: conntest.Failer(f.Inject,
					calendartest.Fault{Code: 503, Reason: "backendError"},
					calendartest.Fault{Code: 400, Reason: "invalid"},
					calendartest.Fault{Stall: true},
					calendartest.Fault{Lost: true}),
			}
		},
	})
}
