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

func TestVerifyReportsKindAndFields(t *testing.T) {
	cases := []struct {
		name   string
		del    bool
		before func(*fakeLayer)
		want   drift.Kind
		fields []string
	}{
		{name: "as pushed", want: drift.InSync},
		{name: "stored the layer's way", before: func(f *fakeLayer) {
			// A Single field's rounding, the date as epoch milliseconds, an
			// integer as a float, the null left out, the point snapped, and
			// an attribute of the layer's own.
			f.Edit("P-1", map[string]any{"FLOW": float64(float32(0.1)), "INSTALLED": installed.UnixMilli(), "COUNT": 3.0, "EDITOR": "gis"})
			f.Edit("P-1", map[string]any{"RETIRED": nil})
			f.SetGeometry("P-1", json.RawMessage(`{"x":13.400000004,"y":52.5,"spatialReference":{"wkid":4326}}`))
		}, want: drift.InSync},
		{name: "name edited", before: func(f *fakeLayer) {
			f.Edit("P-1", map[string]any{"NAME": "Pump one"})
		}, want: drift.Differs, fields: []string{"NAME"}},
		{name: "numbers and date edited", before: func(f *fakeLayer) {
			f.Edit("P-1", map[string]any{"FLOW": 0.1000001, "COUNT": 4, "INSTALLED": installed.Add(time.Second).UnixMilli()})
		}, want: drift.Differs, fields: []string{"COUNT", "FLOW", "INSTALLED"}},
		{name: "moved", before: func(f *fakeLayer) {
			f.SetGeometry("P-1", json.RawMessage(`{"x":13.4001,"y":52.5,"spatialReference":{"wkid":4326}}`))
		}, want: drift.Differs, fields: []string{"geometry"}},
		{name: "geometry removed, text nulled", before: func(f *fakeLayer) {
			f.SetGeometry("P-1", nil)
			f.Edit("P-1", map[string]any{"NAME": nil})
		}, want: drift.Differs, fields: []string{"NAME", "geometry"}},
		{name: "duplicated", before: func(f *fakeLayer) {
			f.Add(map[string]any{"SYNC_KEY": "P-1", "NAME": "copy"})
		}, want: drift.Differs, fields: []string{"OBJECTID"}},
		{name: "deleted by hand", before: func(f *fakeLayer) { f.Delete("P-1") }, want: drift.Missing},
		{name: "delete done", del: true, before: func(f *fakeLayer) { f.Delete("P-1") }, want: drift.InSync},
		{name: "delete undone", del: true, want: drift.Unexpected},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeLayer(t, "SYNC_KEY")
			c := newConnector(t, f, nil)
			rec := pumpRecord("P-1")
			if err := c.Sync(t.Context(), rec); err != nil {
				t.Fatal(err)
			}
			if tc.before != nil {
				tc.before(f)
			}
			edits := f.Edits()
			rec.Delete = tc.del
			v, err := c.Verify(t.Context(), rec)
			if err != nil {
				t.Fatal(err)
			}
			if v.Kind != tc.want || !slices.Equal(v.Fields, tc.fields) {
				t.Fatalf("Verify = %v %q, want %v %q", v.Kind, v.Fields, tc.want, tc.fields)
			}
			if v.ETag != "" || f.Edits() != edits {
				t.Errorf("Verify gave ETag %q and made %d edits; want none", v.ETag, f.Edits()-edits)
			}
		})
	}
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
	cases := []struct {
		name   string
		del    bool
		before func(*fakeLayer)
		want   drift.Kind
	}{
		{name: "edited and moved", want: drift.Differs, before: func(f *fakeLayer) {
			f.Edit("P-1", map[string]any{"NAME": "by hand", "FLOW": 7})
			f.SetGeometry("P-1", json.RawMessage(`{"x":1,"y":2,"spatialReference":{"wkid":4326}}`))
		}},
		{name: "duplicated", want: drift.Differs, before: func(f *fakeLayer) {
			f.Add(map[string]any{"SYNC_KEY": "P-1", "NAME": "copy"})
		}},
		{name: "deleted", want: drift.Missing, before: func(f *fakeLayer) { f.Delete("P-1") }},
		{name: "added", del: true, want: drift.Unexpected},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeLayer(t, "SYNC_KEY")
			c := newConnector(t, f, nil)
			rec := pumpRecord("P-1")
			if err := c.Sync(t.Context(), rec); err != nil {
				t.Fatal(err)
			}
			pushed := onlyFeature(t, f, "P-1")
			if tc.before != nil {
				tc.before(f)
			}
			rec.Delete = tc.del
			v, err := c.Verify(t.Context(), rec)
			if err != nil || v.Kind != tc.want {
				t.Fatalf("Verify = %v, %v; want %v", v.Kind, err, tc.want)
			}
			if err := c.Repair(t.Context(), rec, v); err != nil {
				t.Fatalf("Repair: %v", err)
			}
			if tc.del {
				if n := len(f.ByKey("P-1")); n != 0 {
					t.Fatalf("after the repair of a delete the layer holds %d features of the key", n)
				}
				return
			}
			got := onlyFeature(t, f, "P-1")
			delete(got.Attributes, "OBJECTID")
			delete(pushed.Attributes, "OBJECTID")
			gotAttrs, _ := json.Marshal(got.Attributes)
			wantAttrs, _ := json.Marshal(pushed.Attributes)
			if string(gotAttrs) != string(wantAttrs) || string(got.Geometry) != string(pushed.Geometry) {
				t.Fatalf("after the repair the layer holds %s %s, want %s %s", gotAttrs, got.Geometry, wantAttrs, pushed.Geometry)
			}
			if v, err := c.Verify(t.Context(), rec); err != nil || v.Kind != drift.InSync {
				t.Fatalf("Verify after Repair = %v %q, %v; want in-sync", v.Kind, v.Fields, err)
			}
		})
	}
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
	cases := []struct {
		name   string
		del    bool
		before func(*fakeLayer)
		during func(*fakeLayer)
		check  func(*testing.T, *fakeLayer)
	}{
		{name: "edited again",
			before: func(f *fakeLayer) { f.Edit("P-1", map[string]any{"NAME": "first edit"}) },
			during: func(f *fakeLayer) { f.Edit("P-1", map[string]any{"NAME": "second edit"}) },
			check: func(t *testing.T, f *fakeLayer) {
				if a := onlyFeature(t, f, "P-1").Attributes; a["NAME"] != "second edit" {
					t.Errorf("the layer holds %v, want the second edit kept", a)
				}
			}},
		{name: "moved after the edit",
			before: func(f *fakeLayer) { f.Edit("P-1", map[string]any{"NAME": "first edit"}) },
			during: func(f *fakeLayer) {
				f.SetGeometry("P-1", json.RawMessage(`{"x":1,"y":2,"spatialReference":{"wkid":4326}}`))
			},
			check: func(t *testing.T, f *fakeLayer) {
				if g := string(onlyFeature(t, f, "P-1").Geometry); g != `{"x":1,"y":2,"spatialReference":{"wkid":4326}}` {
					t.Errorf("the layer holds geometry %s, want the move kept", g)
				}
			}},
		{name: "deleted, then added by hand",
			before: func(f *fakeLayer) { f.Delete("P-1") },
			during: func(f *fakeLayer) { f.Add(map[string]any{"SYNC_KEY": "P-1", "NAME": "by hand"}) },
			check: func(t *testing.T, f *fakeLayer) {
				if a := onlyFeature(t, f, "P-1").Attributes; a["NAME"] != "by hand" {
					t.Errorf("the layer holds %v, want the hand-made feature kept", a)
				}
			}},
		{name: "added, then edited", del: true,
			during: func(f *fakeLayer) { f.Edit("P-1", map[string]any{"NAME": "keep me"}) },
			check: func(t *testing.T, f *fakeLayer) {
				if a := onlyFeature(t, f, "P-1").Attributes; a["NAME"] != "keep me" {
					t.Errorf("the layer holds %v, want the edit kept", a)
				}
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeLayer(t, "SYNC_KEY")
			c := newConnector(t, f, nil)
			rec := pumpRecord("P-1")
			if err := c.Sync(t.Context(), rec); err != nil {
				t.Fatal(err)
			}
			if tc.before != nil {
				tc.before(f)
			}
			rec.Delete = tc.del
			v, err := c.Verify(t.Context(), rec)
			if err != nil || v.Kind == drift.InSync {
				t.Fatalf("Verify = %v, %v; want drift", v.Kind, err)
			}
			tc.during(f)
			edits := f.Edits()
			if err := c.Repair(t.Context(), rec, v); !errors.Is(err, drift.ErrConflict) {
				t.Fatalf("Repair over a later edit = %v, want drift.ErrConflict", err)
			}
			if f.Edits() != edits {
				t.Errorf("Repair made %d edits, want none", f.Edits()-edits)
			}
			tc.check(t, f)
		})
	}
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
