package arcgis_test

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"testing"
	"time"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/connectors/arcgis"
)

// BenchmarkUpsert measures one update of an existing feature by the
// connector (query, then applyEdits with validation, quoting, result
// checks) against a baseline of the same two form POSTs sent raw, in
// alternating rounds against the same fake layer. It reports both and
// their ratio.
func BenchmarkUpsert(b *testing.B) {
	f := newFakeLayer(b, "SYNC_KEY")
	c, err := arcgis.New(arcgis.Config{LayerURL: f.layerURL(), KeyField: "SYNC_KEY", VersionField: "SYNC_VERSION", HTTPClient: f.srv.Client()})
	if err != nil {
		b.Fatal(err)
	}
	client := f.srv.Client()
	ctx := context.Background()
	feat := arcgis.Feature{Attributes: map[string]any{"NAME": "Pump"}, Geometry: arcgis.Point{X: 1, Y: 2, SpatialReference: arcgis.SpatialReference{WKID: 4326}}}
	if err := c.Sync(ctx, synclayer.Record{Key: "k", Version: 1, Payload: feat}); err != nil {
		b.Fatal(err)
	}
	oid := onlyFeatureB(b, f, "k")

	post := func(op string, form url.Values) {
		resp, err := client.PostForm(f.layerURL()+"/"+op, form)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	raw := func(v int) {
		post("query", url.Values{"f": {"json"}, "where": {"SYNC_KEY = 'k'"}, "outFields": {"OBJECTID,SYNC_KEY,SYNC_VERSION"}, "returnGeometry": {"false"}})
		upd := fmt.Sprintf(`[{"attributes":{"NAME":"Pump","OBJECTID":%v,"SYNC_KEY":"k","SYNC_VERSION":%d},"geometry":{"x":1,"y":2,"spatialReference":{"wkid":4326}}}]`, oid, v)
		post("applyEdits", url.Values{"f": {"json"}, "rollbackOnFailure": {"true"}, "updates": {upd}})
	}
	var rawT, connT time.Duration
	b.ResetTimer()
	for i := range b.N {
		t0 := time.Now()
		raw(i + 2)
		t1 := time.Now()
		if err := c.Sync(ctx, synclayer.Record{Key: "k", Version: int64(i + 2), Payload: feat}); err != nil {
			b.Fatal(err)
		}
		connT += time.Since(t1)
		rawT += t1.Sub(t0)
	}
	b.StopTimer()
	b.ReportMetric(float64(rawT.Nanoseconds())/float64(b.N), "raw-ns/upsert")
	b.ReportMetric(float64(connT.Nanoseconds())/float64(b.N), "connector-ns/upsert")
	b.ReportMetric(float64(connT)/float64(rawT), "connector/raw")
	if n := len(f.ByKey("k")); n != 1 {
		b.Fatalf("%d features", n)
	}
}

func onlyFeatureB(b *testing.B, f *fakeLayer, key string) any {
	got := f.ByKey(key)
	if len(got) != 1 {
		b.Fatalf("%d features for %q", len(got), key)
	}
	return got[0].Attributes["OBJECTID"]
}
