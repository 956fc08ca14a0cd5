package config

import (
	"context"
	"fmt"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/connectors/arcgis"
)

// ArcGISSettings are the settings of kind arcgis.
type ArcGISSettings struct {
	LayerURL      Value  `yaml:"layerUrl,required"`
	KeyField      string `yaml:"keyField,required"`
	VersionField  string `yaml:"versionField"`
	ObjectIDField string `yaml:"objectIdField"`
	Token         Secret `yaml:"token"`
}

func arcgisKind() *Kind {
	return typedKind[ArcGISSettings]{
		Name: "arcgis",
		Doc:  "An ArcGIS feature layer, such as a GIS resource planner (connectors/arcgis): one feature per key, with attributes and an optional point.",
		Fields: []Field{
			{Name: "attributes", Type: Map, Required: true, Doc: "the feature's attributes (the key field is set by the connector)"},
			{Name: "x", Type: Double, Doc: "the point's x (longitude); with y, the feature gets a point"},
			{Name: "y", Type: Double, Doc: "the point's y (latitude)"},
			{Name: "wkid", Type: Int, Doc: "the point's spatial reference (default 4326)"},
		},
		Check: func(cfg *ArcGISSettings) []FieldError { return addressErrors("layerUrl", cfg.LayerURL) },
		New: func(_ context.Context, b *Binding, cfg *ArcGISSettings) (synclayer.Connector, error) {
			layer, err := b.URL(cfg.LayerURL)
			if err != nil {
				return nil, err
			}
			token, err := b.Secret(cfg.Token)
			if err != nil {
				return nil, err
			}
			return arcgis.New(arcgis.Config{LayerURL: layer, KeyField: cfg.KeyField, VersionField: cfg.VersionField,
				ObjectIDField: cfg.ObjectIDField, Token: token})
		},
		Payload: func(r RecordValue) (any, error) {
			attrs, _ := r.Get("attributes")
			f := arcgis.Feature{Attributes: jsonValue(attrs).(map[string]any)}
			x, hasX := r.Get("x")
			y, hasY := r.Get("y")
			if hasX != hasY {
				return nil, fmt.Errorf("a point needs both x and y")
			}
			if hasX {
				wkid := int64(4326)
				if w, ok := r.Get("wkid"); ok {
					wkid = w.(int64)
				}
				f.Geometry = arcgis.Point{X: x.(float64), Y: y.(float64), SpatialReference: arcgis.SpatialReference{WKID: int(wkid)}}
			}
			return f, nil
		},
	}.kind()
}
