package arcgis_test

import (
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/connectors/arcgis"
	"github.com/hmsplatform/synclayer/connectors/arcgis/arcgistest"
	"github.com/hmsplatform/synclayer/connectors/internal/conntest"
	"github.com/hmsplatform/synclayer/drift"
	"github.com/hmsplatform/synclayer/internal/option"
)

var installed = time.Date(2026, 11, 29, 18, 0, 0, 0, time.FixedZone("CET", 3600))

// pumpRecord is the record the drift tests push.
func pumpRecord(key string) synclayer.Record {
	return synclayer.Record{Key: key, Version: 2, Payload: arcgis.Feature{
		Attributes: map[string]any{"NAME": "Pump 1", "FLOW": 0.1, "COUNT": 3, "INSTALLED": installed, "NOTE": "ours", "RETIRED": nil},
		Geometry:   arcgis.Point{X: 13.4, Y: 52.5, SpatialReference: arcgis.SpatialReference{WKID: 4326}},
	}}
}

// pumpDrift is the drift scenario of the tests: pumpRecord of P-1 pushed
// to a fresh layer keyed by SYNC_KEY.
func pumpDrift() conntest.Drift[*fakeLayer] {
	rec := pumpRecord("P-1")
	del := rec
	del.Delete = true
	return conntest.Drift[*fakeLayer]{
		New: func(t *testing.T) (*fakeLayer, conntest.Verifier) {
			f := newFakeLayer(t, "SYNC_KEY")
			return f, newConnector(t, f, nil)
		},
		Record: rec, Deleted: del,
	}
}

// noEdits returns a check that the layer got no edits since it was called.
func noEdits(f *fakeLayer, what string) func(*testing.T) {
	edits := f.Edits()
	return func(t *testing.T) {
		if f.Edits() != edits {
			t.Errorf("%s made %d edits, want none", what, f.Edits()-edits)
		}
	}
}

func TestVerifyReportsKindAndFields(t *testing.T) {
	pumpDrift().VerifyCases(t, []conntest.DriftCase[*fakeLayer]{
		{Name: "as pushed", Want: drift.InSync},
		{Name: "stored the layer's way", Before: func(f *fakeLayer) {
			// A Single field's rounding, the date as epoch milliseconds, an
			// integer as a float, the null left out, the point snapped, and
			// an attribute of the layer's own.
			f.Edit("P-1", map[string]any{"FLOW": float64(float32(0.1)), "INSTALLED": installed.UnixMilli(), "COUNT": 3.0, "EDITOR": "gis"})
			f.Edit("P-1", map[string]any{"RETIRED": nil})
			f.SetGeometry("P-1", json.RawMessage(`{"x":13.400000004,"y":52.5,"spatialReference":{"wkid":4326}}`))
		}, Want: drift.InSync},
		{Name: "name edited", Before: func(f *fakeLayer) {
			f.Edit("P-1", map[string]any{"NAME": "Pump one"})
		}, Want: drift.Differs, Fields: []string{"NAME"}},
		{Name: "numbers and date edited", Before: func(f *fakeLayer) {
			f.Edit("P-1", map[string]any{"FLOW": 0.1000001, "COUNT": 4, "INSTALLED": installed.Add(time.Second).UnixMilli()})
		}, Want: drift.Differs, Fields: []string{"COUNT", "FLOW", "INSTALLED"}},
		{Name: "moved", Before: func(f *fakeLayer) {
			f.SetGeometry("P-1", json.RawMessage(`{"x":13.4001,"y":52.5,"spatialReference":{"wkid":4326}}`))
		}, Want: drift.Differs, Fields: []string{"geometry"}},
		{Name: "geometry removed, text nulled", Before: func(f *fakeLayer) {
			f.SetGeometry("P-1", nil)
			f.Edit("P-1", map[string]any{"NAME": nil})
		}, Want: drift.Differs, Fields: []string{"NAME", "geometry"}},
		{Name: "duplicated", Before: func(f *fakeLayer) {
			f.Add(map[string]any{"SYNC_KEY": "P-1", "NAME": "copy"})
		}, Want: drift.Differs, Fields: []string{"OBJECTID"}},
		{Name: "deleted by hand", Before: func(f *fakeLayer) { f.Delete("P-1") }, Want: drift.Missing},
		{Name: "delete done", Delete: true, Before: func(f *fakeLayer) { f.Delete("P-1") }, Want: drift.InSync},
		{Name: "delete undone", Delete: true, Want: drift.Unexpected},
	}, func(t *testing.T, f *fakeLayer) func(*testing.T, drift.Verdict) {
		unedited := noEdits(f, "Verify")
		return func(t *testing.T, v drift.Verdict) {
			if v.ETag != "" {
				t.Errorf("Verify gave ETag %q; want none", v.ETag)
			}
			unedited(t)
		}
	})
}

func TestVerifyPolygonAsTheLayerStoresIt(t *testing.T) {
	f := newFakeLayer(t, "SYNC_KEY")
	c := newConnector(t, f, nil)
	ring := [][2]float64{{0, 0}, {0, 10}, {10, 10}, {10, 0}, {0, 0}}
	rec := synclayer.Record{Key: "Z-1", Version: 1, Payload: arcgis.Feature{
		Attributes: map[string]any{"NAME": "zone"},
		Geometry:   arcgis.Polygon{Rings: [][][2]float64{ring}, SpatialReference: arcgis.SpatialReference{WKID: 3857}},
	}}
	if err := c.Sync(t.Context(), rec); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		stored string
		want   drift.Kind
	}{
		// Reversed, started elsewhere and snapped to 0.0001 m: the same.
		{`{"rings":[[[10,10.0002],[0,10],[0,0],[10,0],[10,10.0002]]],"spatialReference":{"wkid":3857}}`, drift.InSync},
		// One vertex moved by a metre.
		{`{"rings":[[[0,0],[0,11],[10,10],[10,0],[0,0]]],"spatialReference":{"wkid":3857}}`, drift.Differs},
		// The vertices in another cyclic order.
		{`{"rings":[[[0,0],[10,10],[0,10],[10,0],[0,0]]],"spatialReference":{"wkid":3857}}`, drift.Differs},
	} {
		f.SetGeometry("Z-1", json.RawMessage(tc.stored))
		v, err := c.Verify(t.Context(), rec)
		if err != nil || v.Kind != tc.want {
			t.Errorf("stored %s: Verify = %v %q, %v; want %v", tc.stored, v.Kind, v.Fields, err, tc.want)
		}
	}
}

func TestRepairRestoresTheFeature(t *testing.T) {
	conntest.RepairCases(t, pumpDrift(), []conntest.DriftCase[*fakeLayer]{
		{Name: "edited and moved", Want: drift.Differs, Before: func(f *fakeLayer) {
			f.Edit("P-1", map[string]any{"NAME": "by hand", "FLOW": 7})
			f.SetGeometry("P-1", json.RawMessage(`{"x":1,"y":2,"spatialReference":{"wkid":4326}}`))
		}},
		{Name: "duplicated", Want: drift.Differs, Before: func(f *fakeLayer) {
			f.Add(map[string]any{"SYNC_KEY": "P-1", "NAME": "copy"})
		}},
		{Name: "deleted", Want: drift.Missing, Before: func(f *fakeLayer) { f.Delete("P-1") }},
		{Name: "added", Delete: true, Want: drift.Unexpected},
	}, func(_ *testing.T, f *fakeLayer) []arcgistest.Feature { return f.ByKey("P-1") },
		func(t *testing.T, del bool, pushed, held []arcgistest.Feature) {
			if len(pushed) != 1 {
				t.Fatalf("after the push the layer holds %d features of the key, want 1: %+v", len(pushed), pushed)
			}
			if del {
				if len(held) != 0 {
					t.Fatalf("after the repair of a delete the layer holds %d features of the key", len(held))
				}
				return
			}
			if len(held) != 1 {
				t.Fatalf("after the repair the layer holds %d features of the key, want 1: %+v", len(held), held)
			}
			got, want := held[0], pushed[0]
			delete(got.Attributes, "OBJECTID")
			delete(want.Attributes, "OBJECTID")
			gotAttrs, _ := json.Marshal(got.Attributes)
			wantAttrs, _ := json.Marshal(want.Attributes)
			if string(gotAttrs) != string(wantAttrs) || string(got.Geometry) != string(want.Geometry) {
				t.Fatalf("after the repair the layer holds %s %s, want %s %s", gotAttrs, got.Geometry, wantAttrs, want.Geometry)
			}
		})
}

func TestOwnedAttributesAreLeftToTheLayer(t *testing.T) {
	f := newFakeLayer(t, "SYNC_KEY")
	c := newConnector(t, f, func(cfg *arcgis.Config) { cfg.OwnedFields = []string{"note"} })
	rec := pumpRecord("P-1")
	if err := c.Sync(t.Context(), rec); err != nil {
		t.Fatal(err)
	}
	f.Edit("P-1", map[string]any{"NOTE": "agency: check valve"})
	v, err := c.Verify(t.Context(), rec)
	if err != nil || v.Kind != drift.InSync {
		t.Fatalf("Verify after an owned-attribute edit = %v %q, %v; want in-sync", v.Kind, v.Fields, err)
	}
	f.Edit("P-1", map[string]any{"NAME": "renamed"})
	v, err = c.Verify(t.Context(), rec)
	if err != nil || v.Kind != drift.Differs || !slices.Equal(v.Fields, []string{"NAME"}) {
		t.Fatalf("Verify = %v %q, %v; want differs [NAME]", v.Kind, v.Fields, err)
	}
	if err := c.Repair(t.Context(), rec, v); err != nil {
		t.Fatal(err)
	}
	if a := onlyFeature(t, f, "P-1").Attributes; a["NAME"] != "Pump 1" || a["NOTE"] != "agency: check valve" {
		t.Fatalf("after the repair the layer holds %v; want NAME restored and the agency's NOTE kept", a)
	}
}

func TestRepairDoesNotOverwriteALaterEdit(t *testing.T) {
	firstEdit := func(f *fakeLayer) { f.Edit("P-1", map[string]any{"NAME": "first edit"}) }
	named := func(name, kept string) func(*testing.T, *fakeLayer) {
		return func(t *testing.T, f *fakeLayer) {
			if a := onlyFeature(t, f, "P-1").Attributes; a["NAME"] != name {
				t.Errorf("the layer holds %v, want %s kept", a, kept)
			}
		}
	}
	pumpDrift().ConflictCases(t, []conntest.DriftCase[*fakeLayer]{
		{Name: "edited again", Before: firstEdit,
			During: func(f *fakeLayer) { f.Edit("P-1", map[string]any{"NAME": "second edit"}) },
			Kept:   named("second edit", "the second edit")},
		{Name: "moved after the edit", Before: firstEdit,
			During: func(f *fakeLayer) {
				f.SetGeometry("P-1", json.RawMessage(`{"x":1,"y":2,"spatialReference":{"wkid":4326}}`))
			},
			Kept: func(t *testing.T, f *fakeLayer) {
				if g := string(onlyFeature(t, f, "P-1").Geometry); g != `{"x":1,"y":2,"spatialReference":{"wkid":4326}}` {
					t.Errorf("the layer holds geometry %s, want the move kept", g)
				}
			}},
		{Name: "deleted, then added by hand",
			Before: func(f *fakeLayer) { f.Delete("P-1") },
			During: func(f *fakeLayer) { f.Add(map[string]any{"SYNC_KEY": "P-1", "NAME": "by hand"}) },
			Kept:   named("by hand", "the hand-made feature")},
		{Name: "added, then edited", Delete: true,
			During: func(f *fakeLayer) { f.Edit("P-1", map[string]any{"NAME": "keep me"}) },
			Kept:   named("keep me", "the edit")},
	}, func(t *testing.T, f *fakeLayer) func(*testing.T, error) {
		unedited := noEdits(f, "Repair")
		return func(t *testing.T, _ error) { unedited(t) }
	})
}

func TestVerifyErrorsAreClassifiedAsSync(t *testing.T) {
	f := newFakeLayer(t, "SYNC_KEY")
	c := newConnector(t, f, nil)
	f.Inject(arcgistest.Fault{Op: "query", Body: `{"error":{"code":503,"message":"busy"}}`})
	if _, err := c.Verify(t.Context(), pumpRecord("P-1")); err == nil || synclayer.IsPermanent(err) {
		t.Errorf("Verify against a busy layer = %v, want a retryable error", err)
	}
	f.Inject(arcgistest.Fault{Op: "query", Body: `{"error":{"code":498,"message":"Invalid token."}}`})
	if _, err := c.Verify(t.Context(), pumpRecord("P-1")); !errors.Is(err, arcgis.ErrToken) || !synclayer.IsPermanent(err) {
		t.Errorf("Verify with a bad token = %v, want permanent ErrToken", err)
	}
	if _, err := c.Verify(t.Context(), synclayer.Record{Key: `a\b`, Delete: true}); err == nil || !synclayer.IsPermanent(err) {
		t.Errorf("Verify of a key with a backslash = %v, want permanent", err)
	}
}

func TestConfigRefusesBadOwnedFields(t *testing.T) {
	f := newFakeLayer(t, "SYNC_KEY")
	for _, mod := range []func(*arcgis.Config){
		func(c *arcgis.Config) { c.OwnedFields = []string{"bad name"} },
		func(c *arcgis.Config) { c.OwnedFields = []string{"sync_key"} },
		func(c *arcgis.Config) { c.GeometryTolerance = -1 },
	} {
		cfg := arcgis.Config{LayerURL: f.layerURL(), KeyField: "SYNC_KEY"}
		mod(&cfg)
		if _, err := arcgis.New(cfg); !errors.Is(err, option.ErrInvalid) {
			t.Errorf("New(%+v) = %v, want ErrInvalidOption", cfg, err)
		}
	}
}
