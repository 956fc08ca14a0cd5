package arcgis_test

import (
	"context"
	"fmt"
	"net/http/httptest"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/connectors/arcgis"
	"github.com/hmsplatform/synclayer/connectors/arcgis/arcgistest"
)

// A feature renamed by hand in the layer is found by Verify and put back by
// Repair, which leaves the note the agency owns alone.
func ExampleConnector_Verify() {
	layer := arcgistest.NewLayer("SYNC_KEY")
	srv := httptest.NewServer(layer)
	defer srv.Close()
	conn, err := arcgis.New(arcgis.Config{
		LayerURL:    srv.URL + "/arcgis/rest/services/Assets/FeatureServer/0",
		KeyField:    "SYNC_KEY",
		OwnedFields: []string{"NOTE"},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	rec := synclayer.Record{Key: "pump-7", Payload: arcgis.Feature{
		Attributes: map[string]any{"NAME": "Pump 7", "NOTE": ""},
		Geometry:   arcgis.Point{X: 13.4, Y: 52.5, SpatialReference: arcgis.SpatialReference{WKID: 4326}},
	}}
	if err := conn.Sync(ctx, rec); err != nil {
		fmt.Println(err)
		return
	}
	layer.Edit("pump-7", map[string]any{"NAME": "Pump seven", "NOTE": "valve replaced"})

	v, err := conn.Verify(ctx, rec)
	fmt.Println(v.Kind, v.Fields, err)
	fmt.Println(conn.Repair(ctx, rec, v))
	a := layer.ByKey("pump-7")[0].Attributes
	fmt.Println(a["NAME"], "/", a["NOTE"])
	// Output:
	// differs [NAME] <nil>
	// <nil>
	// Pump 7 / valve replaced
}
