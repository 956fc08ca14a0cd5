package arcgis

import (
	"bytes"
	"encoding/json"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
)

// geometryField names the geometry in Verdict.Fields.
const geometryField = "geometry"

// geographic holds the well-known ids of common degree-based spatial
// references, whose default tolerance is in degrees.
var geographic = []int{4326, 4269, 4258, 4283, 4617, 4674, 4490, 4167, 4612, 6668, 4019}

// attrDiff returns the names of the attributes of want that got (the
// feature's attributes as the layer returned them) does not hold as the
// layer would store them. Names compare case-insensitively; owned and the
// object id are skipped.
func (c *Connector) attrDiff(want, got map[string]any) []string {
	held := make(map[string]any, len(got))
	for k, v := range got {
		held[strings.ToLower(k)] = v
	}
	var out []string
	for name, w := range want {
		lower := strings.ToLower(name)
		if c.owned[lower] || strings.EqualFold(name, c.cfg.ObjectIDField) {
			continue
		}
		g, ok := held[lower]
		if !ok && w == nil {
			continue
		}
		if !ok || !equalAttr(w, g) {
			out = append(out, name)
		}
	}
	return out
}

// normalJSON turns a Go attribute value into its JSON form (string,
// json.Number, bool, nil, or a decoded array or object), as the layer
// receives it. A time.Time stays a time.
func normalJSON(v any) any {
	switch v.(type) {
	case nil, string, bool, json.Number, time.Time:
		return v
	}
	b, err := json.Marshal(v)
	if err != nil {
		return v
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var out any
	if d.Decode(&out) != nil {
		return v
	}
	return out
}

// equalAttr compares a value sent with the value the layer returned:
// numbers as numbers within float rounding, dates (a time.Time or an RFC
// 3339 string against epoch milliseconds, or two RFC 3339 strings) as
// instants to the millisecond, strings as they are.
func equalAttr(want, got any) bool {
	want, got = normalJSON(want), normalJSON(got)
	wt, wantTime := asTime(want)
	gt, gotTime := asTime(got)
	switch {
	case wantTime && gotTime:
		return wt.UnixMilli() == gt.UnixMilli()
	case wantTime:
		g, ok := asFloat(got)
		return ok && g == float64(wt.UnixMilli())
	case gotTime:
		w, ok := asFloat(want)
		return ok && w == float64(gt.UnixMilli())
	}
	ws, wantStr := want.(string)
	gs, gotStr := got.(string)
	if wantStr && gotStr {
		return ws == gs
	}
	if w, ok := asFloat(want); ok {
		g, ok := asFloat(got)
		return ok && equalFloat(w, g)
	}
	return reflect.DeepEqual(want, got)
}

// asTime reads a time.Time or an RFC 3339 string.
func asTime(v any) (time.Time, bool) {
	switch t := v.(type) {
	case time.Time:
		return t, true
	case string:
		if len(t) < len("2006-01-02T15:04:05Z") || t[4] != '-' {
			return time.Time{}, false
		}
		p, err := time.Parse(time.RFC3339Nano, t)
		return p, err == nil
	}
	return time.Time{}, false
}

// asFloat reads a JSON number, or a string holding one (a text field that
// holds a number sent as one).
func asFloat(v any) (float64, bool) {
	var s string
	switch n := v.(type) {
	case json.Number:
		s = string(n)
	case string:
		s = strings.TrimSpace(n)
	case float64:
		return n, true
	default:
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	return f, err == nil
}

// equalFloat reports whether the layer may have stored a as b: the same
// double, or, for a fraction, the same single (a Single field keeps about
// seven digits).
func equalFloat(a, b float64) bool {
	if a == b || math.Abs(a-b) <= 1e-12*math.Max(math.Abs(a), math.Abs(b)) {
		return true
	}
	return a != math.Trunc(a) && float32(a) == float32(b)
}

// wireGeometry is any geometry as JSON holds it; vertices may carry z and
// m values after x and y.
type wireGeometry struct {
	X                *float64      `json:"x"`
	Y                *float64      `json:"y"`
	Paths            [][][]float64 `json:"paths"`
	Rings            [][][]float64 `json:"rings"`
	SpatialReference struct {
		WKID int `json:"wkid"`
	} `json:"spatialReference"`
}

// tolerance returns the geometry tolerance for g.
func (c *Connector) tolerance(wkid int) float64 {
	switch {
	case c.cfg.GeometryTolerance > 0:
		return c.cfg.GeometryTolerance
	case slices.Contains(geographic, wkid):
		return 1e-8
	}
	return 1e-3
}

// equalGeometry compares the geometry sent with the one the layer returned
// (in the spatial reference asked for): each vertex within the tolerance,
// polygon rings in any order, direction and starting vertex (the layer
// may re-orient them).
func (c *Connector) equalGeometry(want Geometry, got json.RawMessage) bool {
	wb, err := json.Marshal(want)
	if err != nil || len(got) == 0 {
		return false
	}
	var w, g wireGeometry
	if json.Unmarshal(wb, &w) != nil || json.Unmarshal(got, &g) != nil {
		return false
	}
	tol := c.tolerance(w.SpatialReference.WKID)
	near := func(a, b []float64) bool {
		return len(a) >= 2 && len(b) >= 2 && math.Abs(a[0]-b[0]) <= tol && math.Abs(a[1]-b[1]) <= tol
	}
	switch {
	case w.X != nil:
		return g.X != nil && g.Y != nil && w.Y != nil && near([]float64{*w.X, *w.Y}, []float64{*g.X, *g.Y})
	case w.Paths != nil:
		if len(w.Paths) != len(g.Paths) {
			return false
		}
		for i := range w.Paths {
			if !slices.EqualFunc(w.Paths[i], g.Paths[i], near) {
				return false
			}
		}
		return true
	case w.Rings != nil:
		if len(w.Rings) != len(g.Rings) {
			return false
		}
		used := make([]bool, len(g.Rings))
		for _, wr := range w.Rings {
			j := -1
			for k, gr := range g.Rings {
				if !used[k] && sameRing(wr, gr, near) {
					j = k
					break
				}
			}
			if j < 0 {
				return false
			}
			used[j] = true
		}
		return true
	}
	return false
}

// sameRing reports whether two closed rings hold the same vertices in the
// same cyclic order, either way round, from any starting vertex.
func sameRing(a, b [][]float64, near func(a, b []float64) bool) bool {
	if len(a) != len(b) || len(a) < 2 {
		return false
	}
	a, b = a[:len(a)-1], b[:len(b)-1] // the closing vertex repeats the first
	n := len(a)
	for start := range n {
		if !near(a[0], b[start]) {
			continue
		}
		fwd, back := true, true
		for k := range n {
			fwd = fwd && near(a[k], b[(start+k)%n])
			back = back && near(a[k], b[(start-k+n)%n])
		}
		if fwd || back {
			return true
		}
	}
	return false
}
