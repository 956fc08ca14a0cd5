package arcgis_test

import (
	"context"
	"testing"

	"github.com/hmsplatform/synclayer/connectors/arcgis"
	"github.com/hmsplatform/synclayer/connectors/arcgis/arcgistest"
	"github.com/hmsplatform/synclayer/synclayertest"
)

func TestConformance(t *testing.T) {
	synclayertest.TestConnector(t, synclayertest.ConnectorHarness{
		Delete: true,
		Payload: func(key string, version int64) any {
			return arcgis.Feature{
				Attributes: map[string]any{"PAYLOAD_VERSION": version},
				Geometry:   arcgis.Point{X: float64(version), Y: 1, SpatialReference: arcgis.SpatialReference{WKID: 4326}},
			}
		},
		NewPartner: func(t *testing.T) *synclayertest.Partner {
			f := newFakeLayer(t, "SYNC_KEY")
			return &synclayertest.Partner{
				Connector: newConnector(t, f, nil),
				Lookup: func(_ context.Context, key string) ([]int64, error) {
					var out []int64
					for _, ft := range f.ByKey(key) {
						v, _ := ft.Attributes["PAYLOAD_VERSION"].(float64)
						out = append(out, int64(v))
					}
					return out, nil
				},
				Fail: func(kind synclayertest.Failure, times int) bool {
					for range times {
						switch kind {
						case synclayertest.FailRetryable:
							f.Inject(arcgistest.Fault{Body: `{"error":{"code":503,"message":"Service unavailable"}}`})
						case synclayertest.FailPermanent:
							f.Inject(arcgistest.Fault{Body: `{"error":{"code":400,"message":"Cannot perform operation"}}`})
						case synclayertest.FailStall:
							f.Inject(arcgistest.Fault{Stall: true})
						case synclayertest.FailLostResponse:
							f.Inject(arcgistest.Fault{Op: "applyEdits", Lost: true})
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
