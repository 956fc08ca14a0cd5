package arcgistest_test

import (
	"context"
	"fmt"
	"net/http/httptest"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/connectors/arcgis"
	"github.com/hmsplatform/synclayer/connectors/arcgis/arcgistest"
)

// The arcgis connector against the fake layer: pushing the same key twice
// leaves one feature, updated.
func Example() {
	layer := arcgistest.NewLayer("SYNC_KEY", arcgistest.RequireToken("t0k3n"))
	srv := httptest.NewServer(layer)
	defer srv.Close()

	conn, err := arcgis.New(arcgis.Config{
		LayerURL: srv.URL + "/arcgis/rest/services/Assets/FeatureServer/0",
		KeyField: "SYNC_KEY",
		Token:    "t0k3n",
	})
	if err != nil {
		panic(err)
	}
	for _, name := range []string{"Pump 7", "Pump 7 (rebuilt)"} {
		rec := synclayer.Record{Key: "PUMP-7", Payload: arcgis.Feature{Attributes: map[string]any{"NAME": name}}}
		if err := conn.Sync(context.Background(), rec); err != nil {
			panic(err)
		}
	}
	for _, f := range layer.ByKey("PUMP-7") {
		fmt.Println(f.ObjectID, f.Attributes["NAME"])
	}
	// Output: 1 Pump 7 (rebuilt)
}
