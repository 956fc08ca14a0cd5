package arcgis_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/connectors/arcgis"
)

// Example upserts a point feature into a layer. The stand-in service
// prints the requests it gets: a query by key, then an add.
func Example() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/arcgis/rest/services/Assets/FeatureServer/0/query":
			fmt.Println("query where:", r.PostForm.Get("where"))
			fmt.Fprint(w, `{"objectIdFieldName":"OBJECTID","features":[]}`)
		case "/arcgis/rest/services/Assets/FeatureServer/0/applyEdits":
			fmt.Println("adds:", r.PostForm.Get("adds"))
			fmt.Println("token header:", r.Header.Get("X-Esri-Authorization") != "")
			fmt.Fprint(w, `{"addResults":[{"objectId":1,"success":true}],"updateResults":[],"deleteResults":[]}`)
		}
	}))
	defer srv.Close()

	conn, err := arcgis.New(arcgis.Config{
		LayerURL:     srv.URL + "/arcgis/rest/services/Assets/FeatureServer/0",
		KeyField:     "SYNC_KEY",
		VersionField: "SYNC_VERSION",
		Token:        "the-caller's-token",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	err = conn.Sync(context.Background(), synclayer.Record{
		Key:     "O'Hare pump",
		Version: 3,
		Payload: arcgis.Feature{
			Attributes: map[string]any{"NAME": "Pump 7"},
			Geometry:   arcgis.Point{X: -87.9, Y: 41.97, SpatialReference: arcgis.SpatialReference{WKID: 4326}},
		},
	})
	fmt.Println("error:", err)
	// Output:
	// query where: SYNC_KEY = 'O''Hare pump'
	// adds: [{"attributes":{"NAME":"Pump 7","SYNC_KEY":"O'Hare pump","SYNC_VERSION":3},"geometry":{"x":-87.9,"y":41.97,"spatialReference":{"wkid":4326}}}]
	// token header: true
	// error: <nil>
}
