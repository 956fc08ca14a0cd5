package caldav_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/hmsplatform/synclayer/connectors/caldav"
	"github.com/hmsplatform/synclayer/connectors/internal/conntest"
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
					return conntest.SummaryVersions(e.objectsFor(t, key))
				},
				Fail: conntest.Failer(e.tr.inject,
					fault{status: http.StatusServiceUnavailable},
					fault{status: http.StatusForbidden},
					fault{stall: true},
					fault{method: http.MethodPut, lost: true}),
			}
		},
	})
}
