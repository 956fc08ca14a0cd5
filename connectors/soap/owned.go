package soap

import (
	"fmt"
	"reflect"
	"strings"
)

// keepOwned returns a copy of payload whose fields at the owned paths hold
// the values of held, the partner's record as read. Both must be of one
// struct type (or pointers to it); a path names fields by their XML names
// (the name of the xml tag, or the Go field name), with dots between the
// names of nested structs. payload is not changed.
func keepOwned(payload, held any, owned []string) (any, error) {
	pv, hv := reflect.ValueOf(payload), reflect.ValueOf(held)
	if !hv.IsValid() || !pv.IsValid() {
		return payload, nil
	}
	ptr := pv.Kind() == reflect.Pointer
	for pv.Kind() == reflect.Pointer && !pv.IsNil() {
		pv = pv.Elem()
	}
	for hv.Kind() == reflect.Pointer && !hv.IsNil() {
		hv = hv.Elem()
	}
	if pv.Kind() != reflect.Struct || hv.Type() != pv.Type() {
		return nil, fmt.Errorf("Config.Read returned %s, not the payload's type %s: owned fields cannot be kept", hv.Type(), pv.Type())
	}
	cp := reflect.New(pv.Type()).Elem()
	cp.Set(pv)
	for _, path := range owned {
		dst, src := cp, hv
		names := strings.Split(path, ".")
		for i, name := range names {
			df, ok := xmlField(dst, name)
			if !ok {
				return nil, fmt.Errorf("owned field %q: %s has no field %q", path, dst.Type(), name)
			}
			var sf reflect.Value // invalid when the partner has no enclosing element
			if src.IsValid() {
				sf, _ = xmlField(src, name)
			}
			if i == len(names)-1 {
				if sf.IsValid() {
					df.Set(sf)
				} else {
					df.Set(reflect.Zero(df.Type()))
				}
				break
			}
			if df.Kind() == reflect.Pointer {
				if df.IsNil() && (!sf.IsValid() || sf.IsNil()) {
					break // neither has the enclosing element
				}
				if df.IsNil() {
					df.Set(reflect.New(df.Type().Elem()))
				} else {
					fresh := reflect.New(df.Type().Elem())
					fresh.Elem().Set(df.Elem())
					df.Set(fresh)
				}
				df = df.Elem()
				if sf.IsValid() {
					if sf.IsNil() {
						sf = reflect.Value{}
					} else {
						sf = sf.Elem()
					}
				}
			}
			if df.Kind() != reflect.Struct {
				return nil, fmt.Errorf("owned field %q: %s is not a struct", path, name)
			}
			dst, src = df, sf
		}
	}
	if ptr {
		return cp.Addr().Interface(), nil
	}
	return cp.Interface(), nil
}

// xmlField returns the field of the struct v whose XML element or
// attribute name is name, looking into embedded structs.
func xmlField(v reflect.Value, name string) (reflect.Value, bool) {
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() || f.Name == "XMLName" {
			continue
		}
		tag, _, _ := strings.Cut(f.Tag.Get("xml"), ",")
		if tag == "-" {
			continue
		}
		if _, local, ok := strings.Cut(tag, " "); ok {
			tag = local
		}
		if f.Anonymous && tag == "" && f.Type.Kind() == reflect.Struct {
			if fv, ok := xmlField(v.Field(i), name); ok {
				return fv, true
			}
			continue
		}
		if tag == "" {
			tag = f.Name
		}
		if tag == name || "@"+tag == name {
			return v.Field(i), true
		}
	}
	return reflect.Value{}, false
}
