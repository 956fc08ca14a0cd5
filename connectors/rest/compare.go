package rest

import (
	"bytes"
	"encoding/json"
	"math/big"
	"slices"
	"strings"
	"time"
)

// rootField names the whole body in Verdict.Fields when the payload is not
// a JSON object.
const rootField = "$"

// fieldSet is a set of dotted field names ("address.city").
type fieldSet map[string]bool

func newFieldSet(names []string) fieldSet {
	s := make(fieldSet, len(names))
	for _, n := range names {
		s[n] = true
	}
	return s
}

// decodeJSON decodes b keeping numbers as json.Number, so that big
// integers and decimals are compared exactly.
func decodeJSON(b []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}

// differences returns the sorted names of the fields of want that got does
// not hold as the partner would store them. Fields in owned are skipped;
// fields got has and want lacks are the partner's own and ignored; strings
// of fields in fold compare case-insensitively.
func differences(want, got any, owned, fold fieldSet) []string {
	var out []string
	wm, wok := want.(map[string]any)
	gm, gok := got.(map[string]any)
	switch {
	case wok && gok:
		diffObject("", wm, gm, owned, fold, &out)
	case !equalJSON(want, got, fold[rootField]):
		out = []string{rootField}
	}
	slices.Sort(out)
	return out
}

func diffObject(prefix string, want, got map[string]any, owned, fold fieldSet, out *[]string) {
	for name, w := range want {
		path := prefix + name
		if owned[path] {
			continue
		}
		g, ok := got[name]
		if !ok {
			if w != nil { // a null the partner leaves out is the same null
				*out = append(*out, path)
			}
			continue
		}
		wm, wok := w.(map[string]any)
		gm, gok := g.(map[string]any)
		if wok && gok {
			diffObject(path+".", wm, gm, owned, fold, out)
			continue
		}
		if !equalJSON(w, g, fold[path]) {
			*out = append(*out, path)
		}
	}
}

// equalJSON compares two decoded JSON values: numbers as numbers (1 ==
// 1.0 == 1e0), strings that both parse as RFC 3339 times as instants,
// other strings exactly or, with fold, case-insensitively. Objects inside
// arrays ignore the fields the partner adds, as top-level ones do.
func equalJSON(want, got any, fold bool) bool {
	switch w := want.(type) {
	case nil:
		return got == nil
	case bool:
		g, ok := got.(bool)
		return ok && g == w
	case json.Number:
		g, ok := got.(json.Number)
		return ok && equalNumber(w, g)
	case string:
		g, ok := got.(string)
		return ok && equalString(w, g, fold)
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return false
		}
		for i := range w {
			if !equalJSON(w[i], g[i], fold) {
				return false
			}
		}
		return true
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return false
		}
		var diff []string
		diffObject("", w, g, nil, nil, &diff)
		return len(diff) == 0
	}
	return false
}

func equalNumber(a, b json.Number) bool {
	if a == b {
		return true
	}
	// 256 bits hold every int64 and uint64 and float64 exactly; the
	// exponent is parsed without expanding it, so "1e999999999" is cheap.
	x, _, errA := big.ParseFloat(string(a), 10, 256, big.ToNearestEven)
	y, _, errB := big.ParseFloat(string(b), 10, 256, big.ToNearestEven)
	return errA == nil && errB == nil && x.Cmp(y) == 0
}

func equalString(a, b string, fold bool) bool {
	if a == b {
		return true
	}
	if ta, ok := parseTime(a); ok {
		if tb, ok := parseTime(b); ok {
			return ta.Equal(tb)
		}
	}
	return fold && strings.EqualFold(a, b)
}

// parseTime parses an RFC 3339 time; short strings are not tried.
func parseTime(s string) (time.Time, bool) {
	if len(s) < len("2006-01-02T15:04:05Z") || s[4] != '-' {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	return t, err == nil
}

// lookupPath returns the value at a dotted path of v.
func lookupPath(v any, path string) (any, bool) {
	for name := range strings.SplitSeq(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = m[name]; !ok {
			return nil, false
		}
	}
	return v, true
}

// setPath sets (or, when ok is false, removes) the value at a dotted path
// of the object m, creating the objects on the way when it sets.
func setPath(m map[string]any, path string, v any, ok bool) {
	names := strings.Split(path, ".")
	for _, name := range names[:len(names)-1] {
		next, isObj := m[name].(map[string]any)
		if !isObj {
			if !ok {
				return
			}
			next = map[string]any{}
			m[name] = next
		}
		m = next
	}
	last := names[len(names)-1]
	if ok {
		m[last] = v
	} else {
		delete(m, last)
	}
}
