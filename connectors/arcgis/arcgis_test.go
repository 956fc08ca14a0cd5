package arcgis_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/connectors/arcgis"
	"github.com/hmsplatform/synclayer/connectors/arcgis/arcgistest"
	"github.com/hmsplatform/synclayer/connectors/internal/conntest"
	"github.com/hmsplatform/synclayer/connectors/partner"
	"github.com/hmsplatform/synclayer/internal/option"
	"github.com/hmsplatform/synclayer/synclayertest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func newConnector(t *testing.T, f *fakeLayer, mod func(*arcgis.Config)) *arcgis.Connector {
	t.Helper()
	cfg := arcgis.Config{LayerURL: f.layerURL(), KeyField: "SYNC_KEY", VersionField: "SYNC_VERSION", HTTPClient: f.srv.Client()}
	if mod != nil {
		mod(&cfg)
	}
	c, err := arcgis.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// assetEvent carries the name and version of an asset; its mapper makes a
// point feature.
type asset struct {
	Key     string  `json:"key"`
	Name    string  `json:"name"`
	Version int64   `json:"version"`
	X       float64 `json:"x"`
	Delete  bool    `json:"delete"`
}

func assetMapper() synclayer.Mapper {
	return synclayer.MapJSON(func(_ context.Context, _ synclayer.Event, a asset) (synclayer.Record, error) {
		return synclayer.Record{Key: a.Key, Version: a.Version, Delete: a.Delete, Payload: arcgis.Feature{
			Attributes: map[string]any{"NAME": a.Name},
			Geometry:   arcgis.Point{X: a.X, Y: 52.5, SpatialReference: arcgis.SpatialReference{WKID: 4326}},
		}}, nil
	})
}

func newDispatcher(t *testing.T, c synclayer.Connector) *synclayer.Dispatcher {
	t.Helper()
	reg := new(synclayer.Registry)
	if err := reg.Register("gis", c, synclayer.Route("AssetChanged", assetMapper()), synclayer.WithRetry(conntest.FastRetry(10*time.Second)), synclayer.WithTimeout(5*time.Second)); err != nil {
		t.Fatal(err)
	}
	return synclayertest.NewDispatcher(t, reg, synclayer.WithObserver(synclayer.NoObserver))
}

var evSeq struct {
	sync.Mutex
	n int
}

func assetEvent(a asset) synclayer.Event {
	evSeq.Lock()
	evSeq.n++
	id := fmt.Sprintf("evt-%d-%d", evSeq.n, rand.Int64())
	evSeq.Unlock()
	data := fmt.Sprintf(`{"key":%q,"name":%q,"version":%d,"x":%v,"delete":%v}`, a.Key, a.Name, a.Version, a.X, a.Delete)
	return synclayer.Event{ID: id, Type: "AssetChanged", Data: []byte(data)}
}

func dispatch(t *testing.T, d *synclayer.Dispatcher, a asset) synclayer.Result {
	t.Helper()
	rep, _ := d.Dispatch(t.Context(), assetEvent(a))
	if len(rep.Results) != 1 {
		t.Fatalf("got %d results", len(rep.Results))
	}
	return rep.Results[0]
}

func onlyFeature(t *testing.T, f *fakeLayer, key string) arcgistest.Feature {
	t.Helper()
	got := f.ByKey(key)
	if len(got) != 1 {
		t.Fatalf("key %q: %d features, want exactly 1: %+v", key, len(got), got)
	}
	return got[0]
}

// wantFeature checks that key has one feature, with NAME name at
// SYNC_VERSION version.
func wantFeature(t *testing.T, f *fakeLayer, key, name string, version int64) {
	t.Helper()
	if ft := onlyFeature(t, f, key); ft.Attributes["NAME"] != name || ft.Attributes["SYNC_VERSION"] != float64(version) {
		t.Errorf("key %q: feature %v, want NAME %s at SYNC_VERSION %d", key, ft.Attributes, name, version)
	}
}

func TestCreateUpdateDelete(t *testing.T) {
	f := newFakeLayer(t, "SYNC_KEY")
	d := newDispatcher(t, newConnector(t, f, nil))

	if r := dispatch(t, d, asset{Key: "pump-7", Name: "Pump 7", Version: 1, X: 13.4}); r.Status != synclayer.StatusSynced {
		t.Fatalf("create: %v %v", r.Status, r.Err)
	}
	ft := onlyFeature(t, f, "pump-7")
	if ft.Attributes["NAME"] != "Pump 7" || ft.Attributes["SYNC_VERSION"] != float64(1) {
		t.Errorf("created attributes %v", ft.Attributes)
	}
	if got := string(ft.Geometry); got != `{"x":13.4,"y":52.5,"spatialReference":{"wkid":4326}}` {
		t.Errorf("geometry %s", got)
	}
	oid := ft.Attributes["OBJECTID"]

	if r := dispatch(t, d, asset{Key: "pump-7", Name: "Pump 7b", Version: 2, X: 13.5}); r.Status != synclayer.StatusSynced {
		t.Fatalf("update: %v %v", r.Status, r.Err)
	}
	ft = onlyFeature(t, f, "pump-7")
	if ft.Attributes["NAME"] != "Pump 7b" || ft.Attributes["OBJECTID"] != oid || ft.Attributes["SYNC_VERSION"] != float64(2) {
		t.Errorf("updated attributes %v (object id was %v)", ft.Attributes, oid)
	}

	if r := dispatch(t, d, asset{Key: "pump-7", Version: 3, Delete: true}); r.Status != synclayer.StatusSynced {
		t.Fatalf("delete: %v %v", r.Status, r.Err)
	}
	if n := len(f.ByKey("pump-7")); n != 0 {
		t.Errorf("%d features after delete", n)
	}
	// Deleting what is gone is done, not an error.
	if r := dispatch(t, d, asset{Key: "pump-7", Version: 4, Delete: true}); r.Status != synclayer.StatusSynced {
		t.Errorf("second delete: %v %v", r.Status, r.Err)
	}
}

func TestGeometries(t *testing.T) {
	f := newFakeLayer(t, "SYNC_KEY")
	c := newConnector(t, f, nil)
	sr := arcgis.SpatialReference{WKID: 3857}
	for _, tc := range []struct {
		key  string
		geom arcgis.Geometry
		want string
	}{
		{"line", arcgis.Polyline{Paths: [][][2]float64{{{0, 0}, {1, 1}}}, SpatialReference: sr}, `{"paths":[[[0,0],[1,1]]],"spatialReference":{"wkid":3857}}`},
		{"area", &arcgis.Polygon{Rings: [][][2]float64{{{0, 0}, {0, 1}, {1, 1}, {0, 0}}}, SpatialReference: sr}, `{"rings":[[[0,0],[0,1],[1,1],[0,0]]],"spatialReference":{"wkid":3857}}`},
		{"nogeom", nil, ``},
	} {
		err := c.Sync(t.Context(), synclayer.Record{Key: tc.key, Version: 1, Payload: &arcgis.Feature{Attributes: map[string]any{"NAME": tc.key}, Geometry: tc.geom}})
		if err != nil {
			t.Fatalf("%s: %v", tc.key, err)
		}
		if got := string(onlyFeature(t, f, tc.key).Geometry); got != tc.want {
			t.Errorf("%s: geometry %s, want %s", tc.key, got, tc.want)
		}
	}
}

func TestLostResponseRetryLeavesOneFeature(t *testing.T) {
	for _, op := range []string{"add", "update"} {
		t.Run(op, func(t *testing.T) {
			f := newFakeLayer(t, "SYNC_KEY")
			d := newDispatcher(t, newConnector(t, f, nil))
			if op == "update" {
				f.Add(map[string]any{"SYNC_KEY": "valve-1", "NAME": "old", "SYNC_VERSION": float64(1)})
			}
			f.Inject(arcgistest.Fault{Op: "applyEdits", Lost: true})
			r := dispatch(t, d, asset{Key: "valve-1", Name: "Valve 1", Version: 2})
			if r.Status != synclayer.StatusSynced || r.Attempts != 2 {
				t.Fatalf("status %v after %d attempts, want synced after 2: %v", r.Status, r.Attempts, r.Err)
			}
			if ft := onlyFeature(t, f, "valve-1"); ft.Attributes["NAME"] != "Valve 1" {
				t.Errorf("attributes %v", ft.Attributes)
			}
		})
	}
}

func TestBurstOfVersionsLeavesNewest(t *testing.T) {
	f := newFakeLayer(t, "SYNC_KEY")
	d := newDispatcher(t, newConnector(t, f, nil))
	const n = 50
	var wg sync.WaitGroup
	for _, v := range rand.Perm(n) {
		wg.Go(func() {
			rep, err := d.Dispatch(t.Context(), assetEvent(asset{Key: "main-line", Name: fmt.Sprintf("v%d", v+1), Version: int64(v + 1), X: float64(v)}))
			if err != nil {
				t.Errorf("version %d: %v", v+1, err)
			}
			if s := rep.Results[0].Status; s != synclayer.StatusSynced && s != synclayer.StatusStale {
				t.Errorf("version %d: status %v", v+1, s)
			}
		})
	}
	wg.Wait()
	ft := onlyFeature(t, f, "main-line")
	if ft.Attributes["SYNC_VERSION"] != float64(n) || ft.Attributes["NAME"] != fmt.Sprintf("v%d", n) {
		t.Errorf("final attributes %v, want version %d", ft.Attributes, n)
	}
	if f.count() != 1 {
		t.Errorf("%d features in the layer", f.count())
	}
}

func TestStaleVersionDoesNotOverwrite(t *testing.T) {
	f := newFakeLayer(t, "SYNC_KEY")
	c := newConnector(t, f, nil)
	conntest.StaleVersion(t, func() *synclayer.Dispatcher { return newDispatcher(t, c) },
		func(d *synclayer.Dispatcher, m conntest.Meeting) synclayer.Result {
			return dispatch(t, d, asset{Key: m.Key, Name: m.Title, Version: m.Version, Delete: m.Delete})
		},
		func(t *testing.T) {
			wantFeature(t, f, "k", "five", 5) // the stale write did not overwrite it
		})
}

func TestWhereClauseInjection(t *testing.T) {
	f := newFakeLayer(t, "SYNC_KEY")
	c := newConnector(t, f, nil)
	victim := f.Add(map[string]any{"SYNC_KEY": "victim", "NAME": "untouched"})
	keys := []string{
		"O'Brien's pump",
		"x' OR '1'='1",
		"victim' --",
		"victim'--",
		"--",
		"'; DELETE FROM assets; --",
		"''",
		"'",
		"a = 'b'",
		"Grüße/Straße 1",
	}
	for round := range 2 {
		for _, k := range keys {
			if err := c.Sync(t.Context(), synclayer.Record{Key: k, Version: int64(round + 1), Payload: arcgis.Feature{Attributes: map[string]any{"NAME": fmt.Sprint(round)}}}); err != nil {
				t.Fatalf("key %q: %v", k, err)
			}
		}
	}
	for _, k := range keys {
		if ft := onlyFeature(t, f, k); ft.Attributes["NAME"] != "1" {
			t.Errorf("key %q: %v", k, ft.Attributes)
		}
	}
	if v := onlyFeature(t, f, "victim"); v.Attributes["NAME"] != "untouched" || v.ObjectID != victim {
		t.Errorf("victim changed: %v", v.Attributes)
	}
	if n := f.count(); n != len(keys)+1 {
		t.Errorf("%d features, want %d", n, len(keys)+1)
	}
	wheres := f.Wheres()
	if !slices.Contains(wheres, `SYNC_KEY = 'x'' OR ''1''=''1'`) {
		t.Errorf("where clauses sent: %q", wheres)
	}
	// Keys a where clause cannot carry safely are refused up front.
	err := c.Sync(t.Context(), synclayer.Record{Key: `a\' OR 1=1`, Payload: arcgis.Feature{}})
	if !errors.Is(err, partner.ErrPayload) || !synclayer.IsPermanent(err) {
		t.Errorf("backslash key: %v", err)
	}
}

func TestErrorsInBodies(t *testing.T) {
	cases := []struct {
		name      string
		fault     arcgistest.Fault
		retryable bool
		is        error
		text      string
	}{
		{"error in 200, 500", arcgistest.Fault{Op: "query", Body: `{"error":{"code":500,"message":"Unable to complete operation.","details":[]}}`}, true, partner.ErrUnavailable, "error 500: Unable to complete operation."},
		{"error in 200, 503 on edit", arcgistest.Fault{Op: "applyEdits", Body: `{"error":{"code":503,"message":"Service unavailable","details":[]}}`}, true, partner.ErrUnavailable, "error 503"},
		{"error in 200, 400", arcgistest.Fault{Op: "applyEdits", Body: `{"error":{"code":400,"message":"Cannot perform operation.","details":["Field NAME too long"]}}`}, false, partner.ErrRejected, "Field NAME too long"},
		{"error in 200, 404", arcgistest.Fault{Op: "query", Body: `{"error":{"code":404,"message":"Service not found"}}`}, false, partner.ErrNotFound, "Service not found"},
		{"status failed", arcgistest.Fault{Op: "query", Body: `{"status":"failed","code":500}`}, true, partner.ErrUnavailable, "error 500"},
		{"error with HTTP 500", arcgistest.Fault{Op: "query", Status: 500, Body: `{"error":{"code":400,"message":"Invalid parameters"}}`}, false, partner.ErrRejected, "Invalid parameters"},
		{"HTTP 503 with HTML", arcgistest.Fault{Op: "query", Status: 503, Body: `<html>down</html>`, Header: map[string][]string{"Retry-After": {"2"}}}, true, partner.ErrUnavailable, "503"},
		{"HTML in 200", arcgistest.Fault{Op: "query", Body: `<html>login</html>`}, true, partner.ErrUnavailable, "not JSON"},
		{"missing results", arcgistest.Fault{Op: "applyEdits", Body: `{"addResults":[]}`}, true, partner.ErrUnavailable, "0 addResults for 1 add"},
		{"partial failure, permanent", arcgistest.Fault{Op: "applyEdits", FeatureCode: 1000}, false, arcgis.ErrEdit, "add failed: error 1000: Unable to edit"},
		{"partial failure, retryable", arcgistest.Fault{Op: "applyEdits", FeatureCode: 503}, true, arcgis.ErrEdit, "error 503"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeLayer(t, "SYNC_KEY")
			c := newConnector(t, f, nil)
			f.Inject(tc.fault)
			err := c.Sync(t.Context(), synclayer.Record{Key: "k1", Version: 1, Payload: arcgis.Feature{Attributes: map[string]any{"NAME": "n"}}})
			if err == nil {
				t.Fatal("no error")
			}
			if synclayer.IsPermanent(err) == tc.retryable {
				t.Errorf("permanent=%v, want %v: %v", synclayer.IsPermanent(err), !tc.retryable, err)
			}
			if !errors.Is(err, tc.is) {
				t.Errorf("not %v: %v", tc.is, err)
			}
			if !strings.HasPrefix(err.Error(), "arcgis: ") || !strings.Contains(err.Error(), tc.text) {
				t.Errorf("error text %q lacks %q", err, tc.text)
			}
			if f.count() != 0 {
				t.Errorf("a failed edit left %d features", f.count())
			}
			// Once the service is healthy again, the same record goes through.
			if err := c.Sync(t.Context(), synclayer.Record{Key: "k1", Version: 1, Payload: arcgis.Feature{Attributes: map[string]any{"NAME": "n"}}}); err != nil {
				t.Fatal(err)
			}
			onlyFeature(t, f, "k1")
		})
	}
}

func TestRetryAfterHint(t *testing.T) {
	f := newFakeLayer(t, "SYNC_KEY")
	c := newConnector(t, f, nil)
	f.Inject(arcgistest.Fault{Op: "query", Status: 429, Body: `{}`, Header: map[string][]string{"Retry-After": {"7"}}})
	err := c.Sync(t.Context(), synclayer.Record{Key: "k", Payload: arcgis.Feature{}})
	if d, ok := synclayertest.RetryAfterHint(err); !ok || d != 7*time.Second || !errors.Is(err, partner.ErrRateLimited) {
		t.Errorf("hint %v %v: %v", d, ok, err)
	}
}

func TestErrorInBodyRetriedByDispatcher(t *testing.T) {
	f := newFakeLayer(t, "SYNC_KEY")
	d := newDispatcher(t, newConnector(t, f, nil))
	f.Inject(
		arcgistest.Fault{Op: "query", Body: `{"error":{"code":503,"message":"busy"}}`},
		arcgistest.Fault{Op: "applyEdits", FeatureCode: 500},
	)
	r := dispatch(t, d, asset{Key: "k", Name: "n", Version: 1})
	if r.Status != synclayer.StatusSynced || r.Attempts != 3 {
		t.Fatalf("%v after %d attempts: %v", r.Status, r.Attempts, r.Err)
	}
	onlyFeature(t, f, "k")
}

func TestToken(t *testing.T) {
	const secret = "good-token-9f8e7d"
	f := newFakeLayer(t, "SYNC_KEY", arcgistest.RequireToken(secret))
	rec := synclayer.Record{Key: "k", Version: 1, Payload: arcgis.Feature{}}

	if err := newConnector(t, f, func(c *arcgis.Config) { c.Token = secret }).Sync(t.Context(), rec); err != nil {
		t.Fatalf("with the right token: %v", err)
	}

	const expired = "expired-token-1a2b3c"
	err := newConnector(t, f, func(c *arcgis.Config) { c.Token = expired }).Sync(t.Context(), rec)
	var ae *arcgis.APIError
	if !errors.Is(err, arcgis.ErrToken) || !synclayer.IsPermanent(err) || !errors.As(err, &ae) || ae.Code != 498 {
		t.Fatalf("expired token: %v", err)
	}
	if !strings.Contains(err.Error(), "renew") || strings.Contains(err.Error(), expired) {
		t.Errorf("expired token message %q", err)
	}

	err = newConnector(t, f, nil).Sync(t.Context(), rec)
	if !errors.Is(err, arcgis.ErrToken) || !errors.As(err, &ae) || ae.Code != 499 || !strings.Contains(err.Error(), "Config.Token") {
		t.Errorf("missing token: %v", err)
	}
}

func TestTokenNeverInErrors(t *testing.T) {
	const secret = "tok-abcdef123456"
	f := newFakeLayer(t, "SYNC_KEY", arcgistest.RequireToken(secret))
	// The service echoes the request's credentials in its error.
	f.Inject(arcgistest.Fault{Op: "query", Body: `{"error":{"code":400,"message":"bad request from Bearer ` + secret + `"}}`})
	err := newConnector(t, f, func(c *arcgis.Config) { c.Token = secret }).Sync(t.Context(), synclayer.Record{Key: "k", Payload: arcgis.Feature{}})
	if err == nil || strings.Contains(err.Error(), secret) {
		t.Errorf("error %q", err)
	}
}

func TestMergesDuplicateFeatures(t *testing.T) {
	f := newFakeLayer(t, "SYNC_KEY")
	c := newConnector(t, f, nil)
	first := f.Add(map[string]any{"SYNC_KEY": "dup", "NAME": "a"})
	f.Add(map[string]any{"SYNC_KEY": "dup", "NAME": "b"})
	if err := c.Sync(t.Context(), synclayer.Record{Key: "dup", Version: 1, Payload: arcgis.Feature{Attributes: map[string]any{"NAME": "merged"}}}); err != nil {
		t.Fatal(err)
	}
	ft := onlyFeature(t, f, "dup")
	if ft.ObjectID != first || ft.Attributes["NAME"] != "merged" {
		t.Errorf("%v", ft.Attributes)
	}
}

func TestInvalidPayloads(t *testing.T) {
	f := newFakeLayer(t, "SYNC_KEY")
	c := newConnector(t, f, nil)
	sr := arcgis.SpatialReference{WKID: 4326}
	cases := []struct {
		name    string
		payload any
		text    string
	}{
		{"wrong type", map[string]any{"NAME": "x"}, "want arcgis.Feature"},
		{"nil feature", (*arcgis.Feature)(nil), "nil"},
		{"bad attribute name", arcgis.Feature{Attributes: map[string]any{"NAME; DROP": 1}}, "not a field name"},
		{"object id set", arcgis.Feature{Attributes: map[string]any{"OBJECTID": 9}}, "object id"},
		{"key differs", arcgis.Feature{Attributes: map[string]any{"SYNC_KEY": "other"}}, "not the record key"},
		{"no spatial reference", arcgis.Feature{Geometry: arcgis.Point{X: 1, Y: 2}}, "no spatial reference"},
		{"NaN", arcgis.Feature{Geometry: arcgis.Point{X: math.NaN(), Y: 2, SpatialReference: sr}}, "not finite"},
		{"open ring", arcgis.Feature{Geometry: arcgis.Polygon{Rings: [][][2]float64{{{0, 0}, {0, 1}, {1, 1}, {1, 0}}}, SpatialReference: sr}}, "not closed"},
		{"short path", arcgis.Feature{Geometry: arcgis.Polyline{Paths: [][][2]float64{{{0, 0}}}, SpatialReference: sr}}, "fewer than 2"},
		{"nil point", arcgis.Feature{Geometry: (*arcgis.Point)(nil)}, "nil *Point"},
		{"unencodable", arcgis.Feature{Attributes: map[string]any{"NAME": make(chan int)}}, "JSON"},
	}
	for _, tc := range cases {
		err := c.Sync(t.Context(), synclayer.Record{Key: "k", Version: 1, Payload: tc.payload})
		if !errors.Is(err, partner.ErrPayload) || !synclayer.IsPermanent(err) || !strings.Contains(err.Error(), tc.text) {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
	if f.count() != 0 || f.Requests() != 0 {
		t.Errorf("invalid payloads reached the service: %d requests", f.Requests())
	}
}

func TestConfigValidation(t *testing.T) {
	good := arcgis.Config{LayerURL: "https://gis.example/arcgis/rest/services/A/FeatureServer/3", KeyField: "SYNC_KEY"}
	if _, err := arcgis.New(good); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		mod  func(*arcgis.Config)
		text string
	}{
		{"no URL", func(c *arcgis.Config) { c.LayerURL = "" }, "LayerURL is required"},
		{"relative", func(c *arcgis.Config) { c.LayerURL = "/FeatureServer/0" }, "absolute"},
		{"ftp", func(c *arcgis.Config) { c.LayerURL = "ftp://h/FeatureServer/0" }, "absolute"},
		{"token in URL", func(c *arcgis.Config) { c.LayerURL += "?token=s3cr3t-value" }, "must not carry a query"},
		{"unparsable, with user info and token", func(c *arcgis.Config) {
			c.LayerURL = "https://u:s3cr3t@gis.example/%zz/FeatureServer/0?token=s3cr3t"
		}, "LayerURL holds an invalid %-escape"},
		{"not a layer", func(c *arcgis.Config) { c.LayerURL = "https://h/arcgis/rest/services/A/MapServer" }, "FeatureServer/{layer}"},
		{"no key field", func(c *arcgis.Config) { c.KeyField = "" }, "KeyField"},
		{"bad key field", func(c *arcgis.Config) { c.KeyField = "KEY = 1 OR" }, "KeyField"},
		{"bad version field", func(c *arcgis.Config) { c.VersionField = "V-1" }, "VersionField"},
		{"same fields", func(c *arcgis.Config) { c.VersionField = "sync_key" }, "must differ"},
		{"token with newline", func(c *arcgis.Config) { c.Token = "a\r\nX: y" }, "line break"},
	}
	for _, tc := range cases {
		cfg := good
		tc.mod(&cfg)
		_, err := arcgis.New(cfg)
		if err == nil || !errors.Is(err, option.ErrInvalid) || !strings.HasPrefix(err.Error(), "arcgis: ") || !strings.Contains(err.Error(), tc.text) || strings.Contains(err.Error(), "s3cr3t") {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}

func TestContextCancelled(t *testing.T) {
	f := newFakeLayer(t, "SYNC_KEY")
	c := newConnector(t, f, nil)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	err := c.Sync(ctx, synclayer.Record{Key: "k", Payload: arcgis.Feature{}})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("%v", err)
	}
}

// addedBetween returns a layer with a unique index on SYNC_KEY and a
// connector to it, where another writer adds key "k" ("theirs", version 1)
// between the connector's query and its add; more, when not nil, runs in
// that moment too.
func addedBetween(t *testing.T, more func(f *fakeLayer)) (*fakeLayer, *arcgis.Connector) {
	t.Helper()
	f := newFakeLayer(t, "SYNC_KEY", arcgistest.UniqueKey())
	c := newConnector(t, f, nil)
	f.Inject(arcgistest.Fault{Op: "applyEdits", Before: func() {
		f.Add(map[string]any{"SYNC_KEY": "k", "NAME": "theirs", "SYNC_VERSION": float64(1)})
		if more != nil {
			more(f)
		}
	}})
	return f, c
}

// syncOurs pushes key "k" at version 2, named "ours", the record the
// tests of a refused add write.
func syncOurs(t *testing.T, c *arcgis.Connector) error {
	return c.Sync(t.Context(), synclayer.Record{Key: "k", Version: 2, Payload: arcgis.Feature{Attributes: map[string]any{"NAME": "ours"}}})
}

// wantOurs fails t unless the layer holds one feature of "k", named "ours".
func wantOurs(t *testing.T, f *fakeLayer) {
	t.Helper()
	if ft := onlyFeature(t, f, "k"); ft.Attributes["NAME"] != "ours" {
		t.Errorf("%v", ft.Attributes)
	}
}

func TestAddRefusedByUniqueIndexTurnsIntoUpdate(t *testing.T) {
	// Another writer adds the key between our query and our add.
	f, c := addedBetween(t, nil)
	if err := syncOurs(t, c); err != nil {
		t.Fatal(err)
	}
	wantOurs(t, f)
	// A refused add with no feature behind it stays an error.
	f.Inject(arcgistest.Fault{Op: "applyEdits", FeatureCode: 1000})
	err := c.Sync(t.Context(), synclayer.Record{Key: "k2", Payload: arcgis.Feature{}})
	if !errors.Is(err, arcgis.ErrEdit) || !synclayer.IsPermanent(err) {
		t.Errorf("%v", err)
	}
}

// TestRefusedAddWhoseQueryFailsIsRetried: when the query after a refused
// add fails for a moment, the outcome is not known yet (the key may be
// there), so the error is not permanent; the next attempt updates.
func TestRefusedAddWhoseQueryFailsIsRetried(t *testing.T) {
	// Another writer adds the key between our query and our add, and the
	// query after the refusal fails.
	f, c := addedBetween(t, func(f *fakeLayer) {
		f.Inject(arcgistest.Fault{Op: "query", Status: 503, Body: `{"error":{"code":503,"message":"busy","details":[]}}`})
	})
	err := syncOurs(t, c)
	if err == nil || synclayer.IsPermanent(err) || !strings.Contains(err.Error(), "refused") {
		t.Fatalf("Sync with the query after the refused add failing: %v; want a retryable error that says the add was refused", err)
	}
	if err := syncOurs(t, c); err != nil {
		t.Fatal(err)
	}
	wantOurs(t, f)
}

func TestQueryWithNullFeatures(t *testing.T) {
	f := newFakeLayer(t, "SYNC_KEY")
	c := newConnector(t, f, nil)
	f.Inject(arcgistest.Fault{Op: "query", Body: `{"objectIdFieldName":"OBJECTID","features":null}`})
	if err := c.Sync(t.Context(), synclayer.Record{Key: "k", Payload: arcgis.Feature{}}); err != nil {
		t.Fatal(err)
	}
	onlyFeature(t, f, "k")
}

// TestFieldNamesCaseInsensitive: ArcGIS field names are case-insensitive
// and a query answers in the layer's own spelling, so a KeyField and
// VersionField configured in another case must still find the feature
// (no duplicate per push) and read its version (no stale overwrite).
func TestFieldNamesCaseInsensitive(t *testing.T) {
	for _, names := range [][2]string{{"sync_key", "sync_version"}, {"SYNC_KEY", "Sync_Version"}} {
		t.Run(names[0]+","+names[1], func(t *testing.T) {
			f := newFakeLayer(t, "SYNC_KEY")
			f.Add(map[string]any{"SYNC_KEY": "A-1", "SYNC_VERSION": float64(1), "NAME": "x"})
			c := newConnector(t, f, func(cfg *arcgis.Config) { cfg.KeyField, cfg.VersionField = names[0], names[1] })
			for v := int64(2); v <= 3; v++ {
				rec := synclayer.Record{Key: "A-1", Version: v, Payload: arcgis.Feature{Attributes: map[string]any{"NAME": "x"}}}
				if err := c.Sync(t.Context(), rec); err != nil {
					t.Fatal(err)
				}
			}
			// A stale record must not be written.
			if err := c.Sync(t.Context(), synclayer.Record{Key: "A-1", Version: 1, Payload: arcgis.Feature{Attributes: map[string]any{"NAME": "old"}}}); err != nil {
				t.Fatal(err)
			}
			wantFeature(t, f, "A-1", "x", 3)
		})
	}
}

// TestRefusedAddLeavesNewerFeature: when the query after a refused add
// finds several features of the key (writers without a unique index), a
// newer version held by any of them, not only the lowest object id,
// leaves them all alone.
func TestRefusedAddLeavesNewerFeature(t *testing.T) {
	f := newFakeLayer(t, "SYNC_KEY")
	c := newConnector(t, f, nil)
	f.Inject(arcgistest.Fault{Op: "applyEdits", FeatureCode: 1000, Before: func() {
		f.Add(map[string]any{"SYNC_KEY": "K", "SYNC_VERSION": float64(1), "NAME": "v1"})
		f.Add(map[string]any{"SYNC_KEY": "K", "SYNC_VERSION": float64(9), "NAME": "v9"})
	}})
	if err := c.Sync(t.Context(), synclayer.Record{Key: "K", Version: 5, Payload: arcgis.Feature{Attributes: map[string]any{"NAME": "v5"}}}); err != nil {
		t.Fatal(err)
	}
	got := f.ByKey("K")
	if len(got) != 2 || got[0].Attributes["NAME"] != "v1" || got[1].Attributes["NAME"] != "v9" {
		t.Errorf("a version 5 record changed the key's features, one of which holds version 9: %+v", got)
	}
}

// TestFeatureVanishedBeforeEdit: another editor deletes the key's feature
// between Sync's query and its applyEdits, so the layer refuses the edit
// with 1019 "Object is missing". A delete has met its goal; an update
// adds the feature.
func TestFeatureVanishedBeforeEdit(t *testing.T) {
	for _, del := range []bool{true, false} {
		t.Run(fmt.Sprintf("delete=%v", del), func(t *testing.T) {
			f := newFakeLayer(t, "SYNC_KEY")
			c := newConnector(t, f, nil)
			f.Add(map[string]any{"SYNC_KEY": "K", "SYNC_VERSION": float64(1), "NAME": "old"})
			f.Inject(arcgistest.Fault{Op: "applyEdits", Before: func() { f.Delete("K") }})
			rec := synclayer.Record{Key: "K", Version: 2, Delete: del, Payload: arcgis.Feature{Attributes: map[string]any{"NAME": "new"}}}
			if err := c.Sync(t.Context(), rec); err != nil {
				t.Fatalf("Sync after the feature vanished: %v (permanent: %v)", err, synclayer.IsPermanent(err))
			}
			if del {
				if n := f.count(); n != 0 {
					t.Errorf("%d features left after the delete", n)
				}
				return
			}
			wantFeature(t, f, "K", "new", 2)
		})
	}
}
