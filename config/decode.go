package config

import (
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hmsplatform/synclayer/internal/clip"
)

// decoder fills Go values from a node tree, strictly: an unknown field, a
// value of the wrong shape, a number out of range or a negative duration
// is an error naming its place and its field path. It keeps going after an
// error, so one load reports every problem.
type decoder struct {
	file   string
	errs   Errors
	places map[string]pos // field path -> place of its value
}

func newDecoder(file string) *decoder {
	return &decoder{file: file, places: map[string]pos{}}
}

// errorAt records a problem at a place.
func (d *decoder) errorAt(at pos, path, format string, args ...any) {
	if len(d.errs) >= maxErrors {
		return
	}
	d.errs = append(d.errs, &Error{File: d.file, Line: at.line, Column: at.col, Path: path, Msg: fmt.Sprintf(format, args...)})
}

// nodeDecoder is a type that decodes itself from a node.
type nodeDecoder interface {
	decodeNode(d *decoder, n *node, path string)
}

var (
	durationType    = reflect.TypeFor[time.Duration]()
	nodeDecoderType = reflect.TypeFor[nodeDecoder]()
)

// decode fills v (a pointer) from n.
func (d *decoder) decode(n *node, path string, v reflect.Value) {
	d.places[path] = n.at
	if v.CanAddr() && v.Addr().Type().Implements(nodeDecoderType) {
		v.Addr().Interface().(nodeDecoder).decodeNode(d, n, path)
		return
	}
	t := v.Type()
	if t == durationType {
		d.duration(n, path, v)
		return
	}
	switch t.Kind() {
	case reflect.Pointer:
		if n.null {
			return
		}
		p := reflect.New(t.Elem())
		d.decode(n, path, p.Elem())
		v.Set(p)
	case reflect.Struct:
		d.structure(n, path, v)
	case reflect.Slice:
		if n.null {
			return
		}
		if n.kind != sequenceNode {
			d.errorAt(n.at, path, "want a list, got %s", n.kindName())
			return
		}
		s := reflect.MakeSlice(t, len(n.values), len(n.values))
		for i, item := range n.values {
			d.decode(item, fmt.Sprintf("%s[%d]", path, i), s.Index(i))
		}
		v.Set(s)
	case reflect.Map:
		if n.null {
			return
		}
		if n.kind != mappingNode || t.Key().Kind() != reflect.String {
			d.errorAt(n.at, path, "want a mapping, got %s", n.kindName())
			return
		}
		m := reflect.MakeMapWithSize(t, len(n.keys))
		for i, k := range n.keys {
			e := reflect.New(t.Elem()).Elem()
			d.decode(n.values[i], pathKey(path, k.text), e)
			m.SetMapIndex(reflect.ValueOf(k.text).Convert(t.Key()), e)
		}
		v.Set(m)
	case reflect.String:
		if s, ok := d.scalar(n, path, "a text"); ok {
			if looksLikeReference(s) {
				d.errorAt(n.at, path, "a reference is not allowed here; only secret, value-or-secret and address settings take ${env:...} or ${file:...}")
				return
			}
			v.SetString(s)
		}
	case reflect.Bool:
		if s, ok := d.scalar(n, path, "true or false"); ok {
			switch {
			case !n.quoted && s == "true":
				v.SetBool(true)
			case !n.quoted && s == "false":
				v.SetBool(false)
			default:
				d.errorAt(n.at, path, "want true or false, got %q", clip.String(s, 64))
			}
		}
	case reflect.Int, reflect.Int64, reflect.Int32:
		if s, ok := d.scalar(n, path, "an integer"); ok {
			i, err := strconv.ParseInt(s, 10, t.Bits())
			if err != nil || n.quoted {
				d.errorAt(n.at, path, "want an integer of at most %d bits, got %q", t.Bits(), clip.String(s, 64))
				return
			}
			v.SetInt(i)
		}
	case reflect.Float64:
		if s, ok := d.scalar(n, path, "a number"); ok {
			f, err := strconv.ParseFloat(s, 64)
			if err != nil || n.quoted || math.IsInf(f, 0) || math.IsNaN(f) {
				d.errorAt(n.at, path, "want a finite number, got %q", clip.String(s, 64))
				return
			}
			v.SetFloat(f)
		}
	default:
		panic(fmt.Sprintf("config: cannot decode into %s", t)) // a programming error in this package
	}
}

// scalar returns n's text, or records that want was expected. A null is
// no value: the field keeps its zero value.
func (d *decoder) scalar(n *node, path, want string) (string, bool) {
	if n.kind != scalarNode {
		d.errorAt(n.at, path, "want %s, got %s", want, n.kindName())
		return "", false
	}
	if n.null {
		return "", false
	}
	return n.text, true
}

// duration decodes a Go duration such as "10s" or "1m30s"; a negative
// duration is an error.
func (d *decoder) duration(n *node, path string, v reflect.Value) {
	s, ok := d.scalar(n, path, "a duration")
	if !ok {
		return
	}
	if s == "0" {
		v.SetInt(0)
		return
	}
	dur, err := time.ParseDuration(s)
	if err != nil {
		d.errorAt(n.at, path, "want a duration such as 10s, 250ms or 1m30s, got %q", clip.String(s, 64))
		return
	}
	if dur < 0 {
		d.errorAt(n.at, path, "duration %s is negative", dur)
		return
	}
	v.SetInt(int64(dur))
}

// fieldInfo is one field of a struct as the file names it.
type fieldInfo struct {
	name     string
	index    []int // as reflect.Value.FieldByIndex takes it
	required bool
}

// structFields lists the fields of t that carry a yaml tag, in order. The
// fields of an embedded struct tagged `yaml:",inline"` stand in its place,
// as the mapping's own.
func structFields(t reflect.Type) []fieldInfo {
	var out []fieldInfo
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("yaml")
		if tag == "" || tag == "-" || !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if opts == "inline" && f.Anonymous && f.Type.Kind() == reflect.Struct {
			for _, in := range structFields(f.Type) {
				in.index = append([]int{i}, in.index...)
				out = append(out, in)
			}
			continue
		}
		out = append(out, fieldInfo{name: name, index: []int{i}, required: opts == "required"})
	}
	return out
}

// structure decodes a mapping into a struct whose fields carry yaml tags.
func (d *decoder) structure(n *node, path string, v reflect.Value) {
	fields := structFields(v.Type())
	if n.null {
		for _, f := range fields {
			if f.required {
				d.errorAt(n.at, pathKey(path, f.name), "required setting is missing")
			}
		}
		return
	}
	if n.kind != mappingNode {
		d.errorAt(n.at, path, "want a mapping, got %s", n.kindName())
		return
	}
	seen := make([]bool, len(fields))
	for i, k := range n.keys {
		j := slices.IndexFunc(fields, func(f fieldInfo) bool { return f.name == k.text })
		if j < 0 {
			names := make([]string, len(fields))
			for x, f := range fields {
				names[x] = f.name
			}
			d.errorAt(k.at, pathKey(path, k.text), "unknown field %q (want one of %s)", clip.String(k.text, 64), strings.Join(names, ", "))
			continue
		}
		seen[j] = true
		val := n.values[i]
		if fields[j].required && val.null {
			d.errorAt(val.at, pathKey(path, k.text), "required setting is empty")
			continue
		}
		d.decode(val, pathKey(path, k.text), v.FieldByIndex(fields[j].index))
	}
	for j, f := range fields {
		if f.required && !seen[j] {
			d.errorAt(n.at, pathKey(path, f.name), "required setting is missing")
		}
	}
}
