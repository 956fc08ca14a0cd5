package arcgis

import (
	"errors"
	"fmt"
	"math"
)

// Feature is the payload of an upsert: the feature's attributes and,
// optionally, its geometry. The connector adds the key attribute (and the
// version attribute, when configured); setting them here is allowed only
// with the same values.
type Feature struct {
	// Attributes maps field names to values that encode as JSON (strings,
	// numbers, booleans, nil; dates as epoch milliseconds).
	Attributes map[string]any
	// Geometry is nil, a [Point], a [Polyline] or a [Polygon] (or a pointer
	// to one).
	Geometry Geometry
}

// Geometry is a feature's shape: [Point], [Polyline] or [Polygon].
type Geometry interface {
	validate() error
}

// SpatialReference names the coordinate system of a geometry, by
// well-known id (4326 for WGS 84, 3857 for Web Mercator) or by
// well-known text. One of them is required.
type SpatialReference struct {
	WKID int    `json:"wkid,omitempty"`
	WKT  string `json:"wkt,omitempty"`
}

// Point is a point geometry.
type Point struct {
	X                float64          `json:"x"`
	Y                float64          `json:"y"`
	SpatialReference SpatialReference `json:"spatialReference"`
}

// Polyline is a line geometry: one or more paths of at least two
// [x, y] vertices each.
type Polyline struct {
	Paths            [][][2]float64   `json:"paths"`
	SpatialReference SpatialReference `json:"spatialReference"`
}

// Polygon is an area geometry: one or more closed rings (first vertex
// equal to the last) of at least four [x, y] vertices each.
type Polygon struct {
	Rings            [][][2]float64   `json:"rings"`
	SpatialReference SpatialReference `json:"spatialReference"`
}

func (p Point) validate() error {
	if !finite(p.X) || !finite(p.Y) {
		return fmt.Errorf("point (%v, %v) is not finite", p.X, p.Y)
	}
	return p.SpatialReference.validate()
}

func (l Polyline) validate() error {
	if err := checkParts("polyline", "path", l.Paths, 2, false); err != nil {
		return err
	}
	return l.SpatialReference.validate()
}

func (g Polygon) validate() error {
	if err := checkParts("polygon", "ring", g.Rings, 4, true); err != nil {
		return err
	}
	return g.SpatialReference.validate()
}

// checkParts checks the paths of a polyline or the rings of a polygon
// (shape and part name them in errors): at least one, each of fewest
// vertices or more, all finite, and each closed (first vertex equal to
// the last) when closed is set.
func checkParts(shape, part string, parts [][][2]float64, fewest int, closed bool) error {
	if len(parts) == 0 {
		return fmt.Errorf("%s has no %s", shape, part)
	}
	for i, p := range parts {
		if len(p) < fewest {
			return fmt.Errorf("%s %s %d has %d vertices, fewer than %d", shape, part, i, len(p), fewest)
		}
		if closed && p[0] != p[len(p)-1] {
			return fmt.Errorf("%s %s %d is not closed (first vertex %v, last %v)", shape, part, i, p[0], p[len(p)-1])
		}
		if err := vertices(p); err != nil {
			return fmt.Errorf("%s %s %d: %w", shape, part, i, err)
		}
	}
	return nil
}

// validGeometry checks g, including nil pointers inside the interface.
func validGeometry(g Geometry) error {
	switch v := g.(type) {
	case *Point:
		if v == nil {
			return errors.New("geometry is a nil *Point")
		}
	case *Polyline:
		if v == nil {
			return errors.New("geometry is a nil *Polyline")
		}
	case *Polygon:
		if v == nil {
			return errors.New("geometry is a nil *Polygon")
		}
	}
	return g.validate()
}

func (s SpatialReference) validate() error {
	if s.WKID <= 0 && s.WKT == "" {
		return errors.New("geometry has no spatial reference (set WKID or WKT)")
	}
	return nil
}

func vertices(vs [][2]float64) error {
	for j, v := range vs {
		if !finite(v[0]) || !finite(v[1]) {
			return fmt.Errorf("vertex %d %v is not finite", j, v)
		}
	}
	return nil
}

func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

// wireFeature is a feature as applyEdits expects it.
type wireFeature struct {
	Attributes map[string]any `json:"attributes"`
	Geometry   Geometry       `json:"geometry,omitempty"`
}
