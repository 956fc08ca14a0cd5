package googlecalendar_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"google.golang.org/api/calendar/v3"

	"github.com/hmsplatform/synclayer/connectors/googlecalendar/calendartest"
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
					var out []int64
					for _, ev := range f.byKey(calID, key) {
						v, err := strconv.ParseInt(strings.TrimPrefix(ev.Summary, "payload v"), 10, 64)
						if err != nil {
							return nil, fmt.Errorf("event %s: summary %q", ev.Id, ev.Summary)
						}
						out = append(out, v)
					}
					return out, nil
				},
				Fail: func(kind synclayertest.Failure, times int) bool {
					for range times {
						switch kind {
						case synclayertest.FailRetryable:
							f.Inject(calendartest.Fault{Code: 503, Reason: "backendError"})
						case synclayertest.FailPermanent:
							f.Inject(calendartest.Fault{Code: 400, Reason: "invalid"})
						case synclayertest.FailStall:
							f.Inject(calendartest.Fault{Stall: true})
						case synclayertest.FailLostResponse:
							f.Inject(calendartest.Fault{Lost: true})
						default:
							return false
						}
					}
					return true
				},
			}
		},
	})
}
