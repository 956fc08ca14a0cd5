package arcgis_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hmsplatform/synclayer/connectors/arcgis/arcgistest"
)

const layerPath = "/arcgis/rest/services/Assets/FeatureServer/0"

// fakeLayer is the exported arcgistest.Layer on an httptest server, behind
// a check of what the connector must always send.
type fakeLayer struct {
	*arcgistest.Layer
	t   testing.TB
	srv *httptest.Server
}

func newFakeLayer(t testing.TB, keyField string, opts ...arcgistest.Option) *fakeLayer {
	f := &fakeLayer{Layer: arcgistest.NewLayer(keyField, opts...), t: t}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeLayer) layerURL() string { return f.srv.URL + layerPath }

// serve checks the request (POST, f=json, no token in the URL or form,
// rollbackOnFailure=true on edits), then hands it to the layer.
func (f *fakeLayer) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || !strings.HasPrefix(r.URL.Path, layerPath+"/") {
		f.t.Errorf("request %s %s, want a POST to the layer", r.Method, r.URL.Path)
	}
	if err := r.ParseForm(); err == nil {
		if r.URL.RawQuery != "" || r.PostForm.Has("token") {
			f.t.Errorf("token or query in request URL/form: %q %v", r.URL.RawQuery, r.PostForm)
		}
		if r.PostForm.Get("f") != "json" {
			f.t.Errorf("request without f=json: the service would answer HTML")
		}
		if strings.HasSuffix(r.URL.Path, "/applyEdits") && r.PostForm.Get("rollbackOnFailure") != "true" {
			f.t.Errorf("applyEdits without rollbackOnFailure=true")
		}
	}
	f.Layer.ServeHTTP(w, r)
}

// count returns how many features the layer holds.
func (f *fakeLayer) count() int { return len(f.Features()) }
