package arcgis_test

import (
	"context"
	"testing"

	"github.com/hmsplatform/synclayer/connectors/arcgis"
	"github.com/hmsplatform/synclayer/connectors/arcgis/arcgistest"
	"github.com/hmsplatform/synclayer/connectors/internal/conntest"
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
				Fail: conntest.Failer(f.Inject,
					arcgistest.Fault{Body: `{"error":{"code":503,"message":"Service unavailable"}}`},
					arcgistest.Fault{Body: `{"error":{"code":400,"message":"Cannot perform operation"}}`},
					arcgistest.Fault{Stall: true},
					arcgistest.Fault{Op: "applyEdits", Lost: true}),
			}
		},
	})
}
