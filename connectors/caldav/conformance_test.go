package caldav_test

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hmsplatform/synclayer/connectors/caldav"
	"github.com/hmsplatform/synclayer/internal/caldavtest"
	"github.com/hmsplatform/synclayer/synclayertest"
)

func testConformance(t *testing.T, srv *caldavtest.Server) {
	synclayertest.TestConnector(t, synclayertest.ConnectorHarness{
		Delete: true,
		Payload: func(key string, version int64) any {
			return caldav.Event{Summary: fmt.Sprintf("payload v%d", version), Description: key,
				Start: time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC), End: time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)}
		},
		NewPartner: func(t *testing.T) *synclayertest.Partner {
			e := newEnv(t, srv)
			return &synclayertest.Partner{
				Connector: e.conn,
				Lookup: func(_ context.Context, key string) ([]int64, error) {
					var out []int64
					for _, s := range e.objectsFor(t, key) {
						v, err := strconv.ParseInt(strings.TrimPrefix(s, "payload v"), 10, 64)
						if err != nil {
							return nil, fmt.Errorf("summary %q", s)
						}
						out = append(out, v)
					}
					return out, nil
				},
				Fail: func(kind synclayertest.Failure, times int) bool {
					for range times {
						switch kind {
						case synclayertest.FailRetryable:
							e.tr.inject(fault{status: http.StatusServiceUnavailable})
						case synclayertest.FailPermanent:
							e.tr.inject(fault{status: http.StatusForbidden})
						case synclayertest.FailStall:
							e.tr.inject(fault{stall: true})
						case synclayertest.FailLostResponse:
							e.tr.inject(fault{method: http.MethodPut, lost: true})
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
