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
	"strings"
	"time"
	"unicode/utf8"

	"cel.dev/cel-go/common/types"

	"github.com/hmsplatform/synclayer/internal/clip"
)

// RecordValue is a record as a route's mapping evaluated it, before the
// kind makes its connector's Payload of it: named fields in the order of
// the file, or, for an open kind given one expression, a whole value.
// Values are plain Go: string, int64, uint64 (only for an integer beyond
// int64, such as one of the event's data up to 18446744073709551615),
// float64, bool, nil, time.Time, []byte, []any or map[string]any.
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

// convertField checks a value against a field type; an int or uint given
// for a double becomes a float.
func convertField(t FieldType, v any) (any, error) {
	ok := false
	switch t {
	case String:
		_, ok = v.(string)
	case Int:
		_, ok = v.(int64)
	case Double:
		switch n := v.(type) {
		case int64:
			return float64(n), nil
		case uint64:
			return float64(n), nil
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
// strings, booleans, null, and numbers. A number with a point or an
// exponent is a double; an integer is an int, or a uint when it is beyond
// int64 but fits uint64, so it keeps every digit. An integer beyond both
// is a value that fails the expression that reads it, naming its place in
// the data: as a double it would lose digits, and two such numbers could
// become one key. A field no expression reads never fails the event.
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
	var path dataPath
	return numbers(v, &path), nil
}

// dataPath is the place of a value in the data: the keys and list
// indices from the root. numbers keeps it as a stack, pushing a step as it
// goes down and popping it on the way back, so the walk allocates nothing
// per value.
type dataPath []pathStep

// pathStep is one step of a dataPath: a map key, or a list index when
// key is "" and index is not negative.
type pathStep struct {
	key   string
	index int
}

// String writes the path as an expression would read it: data.items[1].n.
func (p dataPath) String() string {
	s := "data"
	for _, step := range p {
		if step.index >= 0 {
			s += "[" + strconv.Itoa(step.index) + "]"
		} else {
			s = pathKey(s, clip.String(step.key, 64))
		}
	}
	return s
}

// numbers replaces the json.Numbers in v, at *path in the data, by int64,
// uint64 or float64, or by a CEL error value for an integer beyond int64
// and uint64, which fails only an expression that reads it.
func numbers(v any, path *dataPath) any {
	switch x := v.(type) {
	case json.Number:
		return number(string(x), *path)
	case []any:
		for i, e := range x {
			*path = append(*path, pathStep{index: i})
			x[i] = numbers(e, path)
			*path = (*path)[:len(*path)-1]
		}
	case map[string]any:
		for k, e := range x {
			*path = append(*path, pathStep{key: k, index: -1})
			x[k] = numbers(e, path)
			*path = (*path)[:len(*path)-1]
		}
	}
	return v
}

// number converts one JSON number at path.
func number(s string, path dataPath) any {
	if strings.ContainsAny(s, ".eE") {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsInf(f, 0) {
			return s // out of range for a double: kept as text
		}
		return f
	}
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		return i
	}
	if u, err := strconv.ParseUint(s, 10, 64); err == nil {
		return u
	}
	return types.NewErr("%s: integer %s is beyond int64 and uint64 (%d to %d); send such a number as a string",
		path, clip.String(s, 64), math.MinInt64, uint64(math.MaxUint64))
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
