package cloudevents

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"maps"
	"mime"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hmsplatform/synclayer"
)

const (
	// SpecVersion is the CloudEvents version written and accepted.
	SpecVersion = "1.0"
	// ContentType is the content type of a structured-mode message.
	ContentType = "application/cloudevents+json"
	// DataContentType is the datacontenttype written for Event.Data.
	DataContentType = "application/json"
	// MetaAttribute is the extension attribute that carries the Meta
	// entries whose keys are not valid attribute names, as a JSON object.
	MetaAttribute = "synclayermeta"
)

// ErrInvalid marks a message that is not a valid event.
var ErrInvalid = errors.New("cloudevents: invalid event")

// The context attributes of CloudEvents 1.0 (core and optional). A Meta key
// with one of these names cannot be an extension attribute.
var reserved = map[string]bool{
	"specversion": true, "id": true, "type": true, "source": true, "subject": true,
	"time": true, "datacontenttype": true, "dataschema": true, "data": true,
	"data_base64": true, MetaAttribute: true,
}

// validAttribute reports whether name can be an extension attribute.
func validAttribute(name string) bool {
	if name == "" || len(name) > 20 || reserved[name] {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// Marshal encodes ev as a structured-mode CloudEvent. It fails, wrapping
// [ErrInvalid], when ev has no ID or Type or its Data is not valid JSON.
func Marshal(ev synclayer.Event) ([]byte, error) {
	if ev.ID == "" || ev.Type == "" {
		return nil, fmt.Errorf("%w: event needs an id and a type (id %q, type %q)", ErrInvalid, ev.ID, ev.Type)
	}
	if len(ev.Data) > 0 && !json.Valid(ev.Data) {
		return nil, fmt.Errorf("%w: event %q: data is not valid JSON", ErrInvalid, ev.ID)
	}
	var b bytes.Buffer
	b.Grow(160 + len(ev.Data))
	b.WriteString(`{"specversion":"1.0","id":`)
	writeString(&b, ev.ID)
	b.WriteString(`,"type":`)
	writeString(&b, ev.Type)
	if ev.Source != "" {
		b.WriteString(`,"source":`)
		writeString(&b, ev.Source)
	}
	if ev.Subject != "" {
		b.WriteString(`,"subject":`)
		writeString(&b, ev.Subject)
	}
	if !ev.Time.IsZero() {
		b.WriteString(`,"time":"`)
		b.WriteString(ev.Time.Format(time.RFC3339Nano))
		b.WriteByte('"')
	}
	ext, rest := splitMeta(ev.Meta)
	for _, k := range slices.Sorted(maps.Keys(ext)) {
		b.WriteByte(',')
		writeString(&b, k)
		b.WriteByte(':')
		writeString(&b, ext[k])
	}
	if len(rest) > 0 {
		js, err := json.Marshal(rest)
		if err != nil {
			return nil, fmt.Errorf("cloudevents: event %q: meta: %w", ev.ID, err)
		}
		b.WriteString(`,"` + MetaAttribute + `":`)
		writeString(&b, string(js))
	}
	if len(ev.Data) > 0 {
		b.WriteString(`,"datacontenttype":"application/json","data":`)
		b.Write(ev.Data)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

func writeString(b *bytes.Buffer, s string) {
	js, _ := json.Marshal(s) // a string always marshals
	b.Write(js)
}

// splitMeta separates the Meta entries that can be extension attributes
// from the rest.
func splitMeta(meta map[string]string) (ext, rest map[string]string) {
	for k, v := range meta {
		if validAttribute(k) {
			if ext == nil {
				ext = make(map[string]string)
			}
			ext[k] = v
		} else {
			if rest == nil {
				rest = make(map[string]string)
			}
			rest[k] = v
		}
	}
	return ext, rest
}

// Binary returns ev in binary mode: the attributes as "ce-" headers, a
// "content-type" header when there is data, and the data as the body. The
// adapters publish structured mode; Binary is for producers and tests that
// want the other mode.
func Binary(ev synclayer.Event) (headers map[string]string, body []byte, err error) {
	if ev.ID == "" || ev.Type == "" {
		return nil, nil, fmt.Errorf("%w: event needs an id and a type (id %q, type %q)", ErrInvalid, ev.ID, ev.Type)
	}
	h := map[string]string{"ce-specversion": SpecVersion, "ce-id": ev.ID, "ce-type": ev.Type}
	if ev.Source != "" {
		h["ce-source"] = ev.Source
	}
	if ev.Subject != "" {
		h["ce-subject"] = ev.Subject
	}
	if !ev.Time.IsZero() {
		h["ce-time"] = ev.Time.Format(time.RFC3339Nano)
	}
	ext, rest := splitMeta(ev.Meta)
	for k, v := range ext {
		h["ce-"+k] = v
	}
	if len(rest) > 0 {
		js, err := json.Marshal(rest)
		if err != nil {
			return nil, nil, fmt.Errorf("cloudevents: event %q: meta: %w", ev.ID, err)
		}
		h["ce-"+MetaAttribute] = string(js)
	}
	if len(ev.Data) > 0 {
		h["content-type"] = DataContentType
	}
	return h, ev.Data, nil
}

// Decode reads an event from a message body and its headers (nil when the
// transport has none), in binary mode if a ce-specversion header is present
// and in structured mode otherwise. Errors wrap [ErrInvalid].
func Decode(body []byte, headers iter.Seq2[string, string]) (synclayer.Event, error) {
	var (
		binary      bool
		contentType string
		attrs       map[string]string
	)
	if headers != nil {
		for k, v := range headers {
			lk := strings.ToLower(k)
			switch {
			case lk == "content-type":
				contentType = v
			case strings.HasPrefix(lk, "ce-") || strings.HasPrefix(lk, "ce_"):
				if !utf8.ValidString(k) || !utf8.ValidString(v) {
					// ToLower has already replaced bad bytes of the key:
					// keep a mark that decodeBinary refuses.
					lk = lk[:3] + badUTF8 + lk[3:]
				}
				if attrs == nil {
					attrs = make(map[string]string)
				}
				attrs[lk[3:]] = v
				if lk[3:] == "specversion" {
					binary = true
				}
			}
		}
	}
	if binary {
		return decodeBinary(attrs, contentType, body)
	}
	return decodeStructured(body, contentType)
}

// Headers adapts a map of single-valued headers for [Decode].
func Headers(m map[string]string) iter.Seq2[string, string] {
	return func(yield func(string, string) bool) {
		for k, v := range m {
			if !yield(k, v) {
				return
			}
		}
	}
}

// badUTF8 marks, in decodeBinary's attribute names, a header whose name
// or value was not valid UTF-8. It cannot occur in a real name: it is not
// lowercase ASCII.
const badUTF8 = "\x00bad-utf8\x00"

func decodeBinary(attrs map[string]string, contentType string, body []byte) (synclayer.Event, error) {
	// Headers are bytes; attributes are strings of Unicode. Bad UTF-8
	// would be rewritten by the next encoding, changing the event's ID or
	// Meta on its way through a retry or a dead letter.
	for k, v := range attrs {
		if k, bad := strings.CutPrefix(k, badUTF8); bad || !utf8.ValidString(v) {
			return synclayer.Event{}, fmt.Errorf("%w: event %q: attribute %q is not valid UTF-8", ErrInvalid, attrs["id"], k)
		}
	}
	ev := synclayer.Event{ID: attrs["id"], Type: attrs["type"], Source: attrs["source"], Subject: attrs["subject"]}
	if err := checkCore(attrs["specversion"], ev.ID, ev.Type); err != nil {
		return synclayer.Event{}, err
	}
	if t := attrs["time"]; t != "" {
		var err error
		if ev.Time, err = parseTime(ev.ID, t); err != nil {
			return synclayer.Event{}, err
		}
	}
	if contentType == "" {
		contentType = attrs["datacontenttype"]
	}
	if len(body) > 0 {
		if !isJSONType(contentType) || !json.Valid(body) {
			return synclayer.Event{}, fmt.Errorf("%w: event %q: data is not JSON (content type %q)", ErrInvalid, ev.ID, contentType)
		}
		ev.Data = json.RawMessage(bytes.Clone(body))
	}
	for k, v := range attrs {
		if reserved[k] && k != MetaAttribute {
			continue
		}
		if err := addMeta(&ev, k, v); err != nil {
			return synclayer.Event{}, err
		}
	}
	return ev, nil
}

func decodeStructured(body []byte, contentType string) (synclayer.Event, error) {
	if contentType != "" && contentType != ContentType {
		mt, _, err := mime.ParseMediaType(contentType)
		if err == nil && strings.HasPrefix(mt, "application/cloudevents-batch") {
			return synclayer.Event{}, fmt.Errorf("%w: batched mode (%s) is not supported", ErrInvalid, mt)
		}
	}
	raw, err := members(body)
	if err != nil {
		return synclayer.Event{}, fmt.Errorf("%w: body is not a JSON object: %w", ErrInvalid, err)
	}
	str := func(name string) (string, error) {
		v, ok := raw[name]
		if !ok || string(v) == "null" {
			return "", nil
		}
		if s, ok := plainString(v); ok {
			return s, nil
		}
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return "", fmt.Errorf("%w: attribute %q is not a string", ErrInvalid, name)
		}
		return s, nil
	}
	var ev synclayer.Event
	var spec, tm, dct string
	for _, f := range []struct {
		name string
		dst  *string
	}{{"specversion", &spec}, {"id", &ev.ID}, {"type", &ev.Type}, {"source", &ev.Source}, {"subject", &ev.Subject}, {"time", &tm}, {"datacontenttype", &dct}} {
		s, err := str(f.name)
		if err != nil {
			return synclayer.Event{}, err
		}
		*f.dst = s
	}
	// A message without specversion is taken as 1.0: it lets plain JSON
	// of a synclayer.Event through, whose fields have the same names.
	if spec == "" {
		spec = SpecVersion
	}
	if err := checkCore(spec, ev.ID, ev.Type); err != nil {
		return synclayer.Event{}, err
	}
	if tm != "" {
		var err error
		if ev.Time, err = parseTime(ev.ID, tm); err != nil {
			return synclayer.Event{}, err
		}
	}
	if d, ok := raw["data"]; ok && string(d) != "null" {
		if dct != "" && !isJSONType(dct) {
			// Non-JSON data in structured mode is a JSON string.
			return synclayer.Event{}, fmt.Errorf("%w: event %q: data is not JSON (content type %q)", ErrInvalid, ev.ID, dct)
		}
		ev.Data = json.RawMessage(bytes.Clone(d))
	} else if b64, ok := raw["data_base64"]; ok && string(b64) != "null" {
		var s string
		if err := json.Unmarshal(b64, &s); err != nil {
			return synclayer.Event{}, fmt.Errorf("%w: event %q: data_base64 is not a string", ErrInvalid, ev.ID)
		}
		d, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return synclayer.Event{}, fmt.Errorf("%w: event %q: data_base64: %w", ErrInvalid, ev.ID, err)
		}
		if len(d) > 0 && (!isJSONType(dct) || !json.Valid(d)) {
			return synclayer.Event{}, fmt.Errorf("%w: event %q: data is not JSON (content type %q)", ErrInvalid, ev.ID, dct)
		}
		if len(d) > 0 {
			ev.Data = json.RawMessage(d)
		}
	}
	for k, v := range raw {
		if reserved[k] && k != MetaAttribute {
			continue
		}
		if k == "meta" {
			// The plain JSON of a synclayer.Event carries Meta as an object.
			var m map[string]string
			if err := json.Unmarshal(v, &m); err == nil {
				for mk, mv := range m {
					setMeta(&ev, mk, mv)
				}
				continue
			}
		}
		s, ok := plainString(v)
		if !ok && json.Unmarshal(v, &s) != nil {
			// Extension attributes of other producers may be numbers or
			// booleans: keep their JSON text.
			s = string(bytes.TrimSpace(v))
		}
		if err := addMeta(&ev, k, s); err != nil {
			return synclayer.Event{}, err
		}
	}
	return ev, nil
}

// members splits a JSON object into its members (the last of duplicate
// keys wins, as encoding/json does). It validates body first, so the
// scanning below can trust its structure; this avoids the reflection of
// decoding into a map.
func members(body []byte) (map[string]json.RawMessage, error) {
	if !json.Valid(body) {
		var v any
		err := json.Unmarshal(body, &v)
		if err == nil {
			err = errors.New("invalid JSON")
		}
		return nil, err
	}
	i := skipSpace(body, 0)
	if body[i] != '{' {
		return nil, errors.New("not an object")
	}
	m := make(map[string]json.RawMessage, 10)
	i = skipSpace(body, i+1)
	if body[i] == '}' {
		return m, nil
	}
	for {
		end := skipString(body, i)
		key, ok := plainString(body[i:end])
		if !ok {
			if err := json.Unmarshal(body[i:end], &key); err != nil {
				return nil, err
			}
		}
		i = skipSpace(body, end)   // at ':'
		i = skipSpace(body, i+1)   // at the value
		vend := skipValue(body, i) // just after it
		m[key] = body[i:vend]
		i = skipSpace(body, vend) // at ',' or '}'
		if body[i] == '}' {
			return m, nil
		}
		i = skipSpace(body, i+1)
	}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index just after the string starting at b[i].
func skipString(b []byte, i int) int {
	for j := i + 1; ; j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
}

// skipValue returns the index just after the value starting at b[i].
func skipValue(b []byte, i int) int {
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for j := i; ; j++ {
			switch b[j] {
			case '"':
				j = skipString(b, j) - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return j + 1
				}
			}
		}
	}
	j := i
	for j < len(b) && b[j] != ',' && b[j] != '}' && b[j] != ']' && b[j] != ' ' && b[j] != '\t' && b[j] != '\n' && b[j] != '\r' {
		j++
	}
	return j
}

// plainString returns the text of a JSON string value without escapes or
// invalid UTF-8 (which encoding/json would replace), the common case,
// without a full decode. v is already known to be valid
// JSON.
func plainString(v json.RawMessage) (string, bool) {
	if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' || bytes.IndexByte(v, '\\') >= 0 || !utf8.Valid(v) {
		return "", false
	}
	return string(v[1 : len(v)-1]), true
}

func checkCore(spec, id, typ string) error {
	switch {
	case spec != SpecVersion:
		return fmt.Errorf("%w: event %q: specversion %q is not supported (want %q)", ErrInvalid, id, spec, SpecVersion)
	case id == "":
		return fmt.Errorf("%w: no id (type %q)", ErrInvalid, typ)
	case typ == "":
		return fmt.Errorf("%w: event %q: no type", ErrInvalid, id)
	}
	return nil
}

func parseTime(id, s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: event %q: time %q is not RFC 3339", ErrInvalid, id, s)
	}
	return t, nil
}

// isJSONType reports whether a datacontenttype means JSON; empty means
// JSON, as CloudEvents' JSON format says.
func isJSONType(ct string) bool {
	if ct == "" {
		return true
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return false
	}
	return mt == "application/json" || mt == "text/json" || strings.HasSuffix(mt, "+json")
}

// addMeta stores an extension attribute in ev.Meta, unpacking MetaAttribute.
func addMeta(ev *synclayer.Event, k, v string) error {
	if k == MetaAttribute {
		var m map[string]string
		if err := json.Unmarshal([]byte(v), &m); err != nil {
			return fmt.Errorf("%w: event %q: attribute %s is not a JSON object of strings", ErrInvalid, ev.ID, MetaAttribute)
		}
		for mk, mv := range m {
			setMeta(ev, mk, mv)
		}
		return nil
	}
	setMeta(ev, k, v)
	return nil
}

func setMeta(ev *synclayer.Event, k, v string) {
	if ev.Meta == nil {
		ev.Meta = make(map[string]string)
	}
	ev.Meta[k] = v
}
