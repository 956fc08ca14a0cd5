package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/hmsplatform/synclayer/internal/clip"
)

// RecordValue is a record as a route's mapping evaluated it, before the
// kind makes its connector's Payload of it: named fields in the order of
// the file, or, for an open kind given one expression, a whole value.
// Values are plain Go: string, int64, float64, bool, nil, time.Time,
// []byte, []any or map[string]any.
type RecordValue struct {
	names   []string
	values  []any
	whole   any
	isWhole bool
}

// Get returns a field's value.
func (r RecordValue) Get(name string) (any, bool) {
	for i, n := range r.names {
		if n == name {
			return r.values[i], true
		}
	}
	return nil, false
}

// String returns a string field, or "".
func (r RecordValue) String(name string) string {
	v, _ := r.Get(name)
	s, _ := v.(string)
	return s
}

// Names returns the field names in order.
func (r RecordValue) Names() []string { return r.names }

// JSON returns the record as one JSON value: the whole value, or an
// object of the fields that keeps their order when marshalled.
func (r RecordValue) JSON() any {
	if r.isWhole {
		return jsonValue(r.whole)
	}
	return orderedObject{names: r.names, values: r.values}
}

// orderedObject marshals as a JSON object with its keys in order.
type orderedObject struct {
	names  []string
	values []any
}

// MarshalJSON writes the fields in order.
func (o orderedObject) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, n := range o.names {
		if i > 0 {
			b.WriteByte(',')
		}
		k, err := json.Marshal(n)
		if err != nil {
			return nil, err
		}
		b.Write(k)
		b.WriteByte(':')
		v, err := json.Marshal(jsonValue(o.values[i]))
		if err != nil {
			return nil, err
		}
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// jsonValue makes timestamps RFC 3339 text, as JSON has no time type.
func jsonValue(v any) any {
	switch x := v.(type) {
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = jsonValue(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = jsonValue(e)
		}
		return out
	}
	return v
}

// convertField checks a value against a field type; an int given for a
// double becomes a float.
func convertField(t FieldType, v any) (any, error) {
	ok := false
	switch t {
	case String:
		_, ok = v.(string)
	case Int:
		_, ok = v.(int64)
	case Double:
		if i, isInt := v.(int64); isInt {
			return float64(i), nil
		}
		_, ok = v.(float64)
	case Bool:
		_, ok = v.(bool)
	case Timestamp:
		_, ok = v.(time.Time)
	case Map:
		_, ok = v.(map[string]any)
	default:
		ok = true
	}
	if !ok {
		return nil, fmt.Errorf("got %s, want %s", typeName(v), t)
	}
	return v, nil
}

// decodeData decodes an event's Data for expressions: objects, lists,
// strings, booleans, null, and numbers as int (when integral and in
// range) or double. An integer beyond int64 is an error naming its place
// in the data: as a double it would lose digits, and two such numbers
// could become one key.
func decodeData(data []byte) (any, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, nil
	}
	if !utf8.Valid(data) {
		return nil, errors.New("data is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("data is not JSON: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("data has trailing content after the JSON value (offset %d)", dec.InputOffset())
	}
	v, bad := numbers(v)
	if bad != nil {
		path := "data"
		for i := len(bad.steps) - 1; i >= 0; i-- {
			path = bad.steps[i](path)
		}
		return nil, fmt.Errorf("%s: integer %s is beyond int64 (%d to %d); send a larger number as a string",
			path, clip.String(bad.number, 64), math.MinInt64, math.MaxInt64)
	}
	return v, nil
}

// bigInteger is an integer of the data beyond int64, and the steps from
// it up to the data's root, innermost first; each adds itself to the path
// of its parent.
type bigInteger struct {
	number string
	steps  []func(parent string) string
}

// numbers replaces the json.Numbers in v by int64 or float64, or returns
// the first integer beyond int64 it finds.
func numbers(v any) (any, *bigInteger) {
	switch x := v.(type) {
	case json.Number:
		i, err := strconv.ParseInt(string(x), 10, 64)
		if err == nil {
			return i, nil
		}
		if errors.Is(err, strconv.ErrRange) {
			return nil, &bigInteger{number: string(x)}
		}
		f, err := strconv.ParseFloat(string(x), 64)
		if err != nil || math.IsInf(f, 0) {
			return string(x), nil // out of range for a double: kept as text
		}
		return f, nil
	case []any:
		for i, e := range x {
			n, bad := numbers(e)
			if bad != nil {
				bad.steps = append(bad.steps, func(p string) string { return p + "[" + strconv.Itoa(i) + "]" })
				return nil, bad
			}
			x[i] = n
		}
	case map[string]any:
		for k, e := range x {
			n, bad := numbers(e)
			if bad != nil {
				bad.steps = append(bad.steps, func(p string) string { return pathKey(p, clip.String(k, 64)) })
				return nil, bad
			}
			x[k] = n
		}
	}
	return v, nil
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
