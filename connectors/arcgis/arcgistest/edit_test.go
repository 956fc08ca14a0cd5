package arcgistest_test

import (
	"encoding/json"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/hmsplatform/synclayer/connectors/arcgis/arcgistest"
)

// TestEditByHand: Edit, SetGeometry and Delete change what a query then
// returns, as another editor's changes would, and touch only the key's
// features.
func TestEditByHand(t *testing.T) {
	layer := arcgistest.NewLayer("K")
	srv := httptest.NewServer(layer)
	defer srv.Close()
	post(t, srv, "applyEdits", url.Values{"adds": {`[{"attributes":{"K":"a","N":1},"geometry":{"x":1,"y":2}},{"attributes":{"K":"b","N":1}}]`}})

	if n := layer.Edit("a", map[string]any{"N": 2, "OBJECTID": 99, "NOTE": "by hand"}); n != 1 {
		t.Fatalf("Edit changed %d features, want 1", n)
	}
	if n := layer.SetGeometry("a", json.RawMessage(`{"x":3,"y":4}`)); n != 1 {
		t.Fatalf("SetGeometry changed %d features, want 1", n)
	}
	q := post(t, srv, "query", url.Values{"where": {"K = 'a'"}, "outFields": {"*"}})
	f := q["features"].([]any)[0].(map[string]any)
	attrs, geom := f["attributes"].(map[string]any), f["geometry"].(map[string]any)
	if attrs["N"] != 2.0 || attrs["NOTE"] != "by hand" || attrs["OBJECTID"] != 1.0 || geom["x"] != 3.0 {
		t.Fatalf("query after the edit = %v", f)
	}
	q = post(t, srv, "query", url.Values{"where": {"K = 'a'"}, "outFields": {"*"}, "returnGeometry": {"false"}})
	if _, ok := q["features"].([]any)[0].(map[string]any)["geometry"]; ok {
		t.Errorf("returnGeometry=false returned a geometry: %v", q)
	}
	if n := layer.Delete("a"); n != 1 {
		t.Fatalf("Delete removed %d features, want 1", n)
	}
	if len(layer.ByKey("a")) != 0 || len(layer.ByKey("b")) != 1 || layer.ByKey("b")[0].Attributes["N"] != 1.0 {
		t.Fatalf("after Delete(a) the layer holds %v", layer.Features())
	}
	if layer.Edit("a", map[string]any{"N": 3}) != 0 || layer.Delete("a") != 0 {
		t.Error("Edit or Delete of a key without features reported a change")
	}
}
