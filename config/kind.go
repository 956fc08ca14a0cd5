package config

import (
	"context"
	"fmt"
	"net/url"
	"slices"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/internal/enum"
)

// FieldType is the type of a record field, as mapping expressions see it.
type FieldType int

// The record field types.
const (
	String    FieldType = iota // CEL string
	Int                        // CEL int (int64)
	Double                     // CEL double; an int is accepted too
	Bool                       // CEL bool
	Timestamp                  // CEL google.protobuf.Timestamp: date("2024-07-01"), timestamp("...Z"), event.time
	Map                        // CEL map(string, dyn): a JSON object
	Any                        // CEL dyn: any JSON value
)

var fieldTypes = enum.Names{Type: "FieldType", Names: []string{String: "string", Int: "int", Double: "double",
	Bool: "bool", Timestamp: "timestamp", Map: "map(string, dyn)", Any: "dyn"}}

// String names the type as the reference does, or "FieldType(n)" for an
// unknown value.
func (t FieldType) String() string { return fieldTypes.String(int(t)) }

// MarshalText encodes the type as its name; an unknown value is an error.
func (t FieldType) MarshalText() ([]byte, error) { return fieldTypes.MarshalText(int(t)) }

// UnmarshalText decodes a type name; anything else is an error.
func (t *FieldType) UnmarshalText(b []byte) error { return enum.Decode(fieldTypes, b, t) }

// Field is one record field a connector kind takes.
type Field struct {
	Name     string
	Type     FieldType
	Required bool
	Doc      string // one line for the reference
}

// Kind is a connector kind: the settings it takes, the record fields its
// mappings make, and how it builds a connector and a payload. The kinds of
// every connector in connectors/ are built in ([Kinds]); a program adds
// its own with [WithKind].
//
// Settings returns a pointer to a new settings struct whose fields carry
// yaml tags (",required" for required ones); it is decoded strictly from
// the partner's settings mapping. Fields of type [Secret] take only
// secret references; fields of type [Value] take either a text or a
// reference, resolved with [Binding.Value] for a setting that may hold a
// credential and with [Binding.URL] for an address. Check, if set,
// validates decoded settings and names the offending field. New builds
// the connector; it resolves secrets with the [Binding]. Payload turns an evaluated
// record into the connector's Payload.
//
// When Open is true the kind takes any record field names, each of any
// type, and a whole-record expression may give any JSON value.
type Kind struct {
	Name     string
	Doc      string // one paragraph for the reference
	Settings func() any
	Check    func(settings any) []FieldError
	New      func(ctx context.Context, b *Binding, settings any) (synclayer.Connector, error)
	Fields   []Field
	Open     bool
	Payload  func(rec RecordValue) (any, error)
}

// typedKind is a built-in [Kind] as written, with its settings type S:
// Check and New take the decoded settings as an *S. Its kind method makes
// the Kind, whose Settings returns a new S.
type typedKind[S any] struct {
	Name, Doc string
	Fields    []Field
	Open      bool
	Check     func(cfg *S) []FieldError
	New       func(ctx context.Context, b *Binding, cfg *S) (synclayer.Connector, error)
	Payload   func(rec RecordValue) (any, error)
}

func (k typedKind[S]) kind() *Kind {
	return &Kind{Name: k.Name, Doc: k.Doc, Fields: k.Fields, Open: k.Open, Payload: k.Payload,
		Settings: func() any { return new(S) },
		Check:    func(s any) []FieldError { return k.Check(s.(*S)) },
		New: func(ctx context.Context, b *Binding, s any) (synclayer.Connector, error) {
			return k.New(ctx, b, s.(*S))
		},
	}
}

// FieldError is a problem with one setting of a kind, found by its Check.
type FieldError struct {
	Field string // the setting as the file names it, e.g. "baseUrl" or "headers.X-Token"
	Msg   string
}

func (k *Kind) field(name string) (Field, bool) {
	i := slices.IndexFunc(k.Fields, func(f Field) bool { return f.Name == name })
	if i < 0 {
		return Field{}, false
	}
	return k.Fields[i], true
}

// Kinds returns the built-in connector kinds, one per package in
// connectors/: arcgis, caldav, googlecalendar, rest, soap and webhook.
func Kinds() []*Kind {
	return []*Kind{arcgisKind(), caldavKind(), googleCalendarKind(), restKind(), soapKind(), webhookKind()}
}

// checkAddress reports a problem with an address setting written in the
// file, or "". A reference is checked once resolved, by [Binding.URL].
func checkAddress(v Value) string {
	if v.IsSecret() {
		return ""
	}
	return checkURL(v.lit)
}

// addressErrors is checkAddress as the problems of the setting field:
// none or one.
func addressErrors(field string, v Value) []FieldError {
	if msg := checkAddress(v); msg != "" {
		return []FieldError{{field, msg}}
	}
	return nil
}

// choiceErrors is the problem of the setting field whose value is
// neither "" (its default) nor one of allowed: want, which names them,
// followed by the value given. None or one.
func choiceErrors(field, value, want string, allowed ...string) []FieldError {
	if value == "" || slices.Contains(allowed, value) {
		return nil
	}
	return []FieldError{{field, want + ", got " + quoteText(value)}}
}

// checkResolvedURL is checkURL for a value resolved from a reference: its
// text never shows in the problem.
func checkResolvedURL(s string) string {
	if _, err := url.Parse(s); err != nil {
		return "not a URL"
	}
	return checkURL(s)
}

// checkURL reports a problem with an http(s) URL setting, or "".
func checkURL(s string) string {
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return fmt.Sprintf("not a URL: %v", err)
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Sprintf("want an absolute http or https URL, got scheme %q", u.Scheme)
	case u.Host == "":
		return "the URL has no host"
	case u.User != nil:
		return "the URL must not carry credentials; use a secret setting"
	}
	return ""
}
