package config

import (
	"context"
	"encoding/xml"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/connectors/soap"
)

// SOAPSettings are the settings of kind soap.
type SOAPSettings struct {
	URL            Value            `yaml:"url,required"`
	Version        string           `yaml:"version"`
	Action         string           `yaml:"action"`
	DeleteAction   string           `yaml:"deleteAction"`
	Element        string           `yaml:"element,required"`
	Namespace      string           `yaml:"namespace"`
	Username       Value            `yaml:"username"`
	Password       Secret           `yaml:"password"`
	PasswordDigest bool             `yaml:"passwordDigest"`
	Headers        map[string]Value `yaml:"headers"`
}

// xmlNameRE is an XML element name without a prefix.
var xmlNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.-]*$`)

func soapKind() *Kind {
	return typedKind[SOAPSettings]{
		Name: "soap",
		Doc: "A SOAP 1.1 or 1.2 endpoint whose operation upserts by key (connectors/soap). The record becomes the Body's element (settings element and namespace), " +
			"each record field a child element in the order given, its value as text.",
		Open: true,
		Check: func(cfg *SOAPSettings) []FieldError {
			errs := addressErrors("url", cfg.URL)
			errs = append(errs, choiceErrors("version", cfg.Version, `want "1.1" or "1.2"`, "1.1", "1.2")...)
			if !xmlNameRE.MatchString(cfg.Element) {
				errs = append(errs, FieldError{"element", "not an XML element name: " + quoteText(cfg.Element)})
			}
			if cfg.Password.Set() && !cfg.Username.Set() {
				errs = append(errs, FieldError{"username", "a password needs a username"})
			}
			return append(errs, checkHeaders(cfg.Headers)...)
		},
		New: func(_ context.Context, b *Binding, cfg *SOAPSettings) (synclayer.Connector, error) {
			u, h, secret, err := resolveEndpoint(b, cfg.URL, cfg.Headers)
			if err != nil {
				return nil, err
			}
			c := soap.Config{URL: u, Version: soap.SOAP11, Action: cfg.Action, DeleteAction: cfg.DeleteAction,
				Header: h, SecretHeaders: secret, Concurrency: b.Concurrency}
			if cfg.Version == "1.2" {
				c.Version = soap.SOAP12
			}
			if cfg.Username.Set() {
				user, pass, err := b.login(cfg.Username, cfg.Password)
				if err != nil {
					return nil, err
				}
				c.Security = &soap.UsernameToken{Username: user, Password: pass, Digest: cfg.PasswordDigest}
			}
			name := xml.Name{Space: cfg.Namespace, Local: cfg.Element}
			c.DeleteBody = func(key string, _ int64) any {
				return &soapElement{name: name, names: []string{"key"}, values: []any{key}}
			}
			conn, err := soap.New(c)
			if err != nil {
				return nil, err
			}
			return payloadConnector{conn, name}, nil
		},
		Payload: func(r RecordValue) (any, error) {
			if r.isWhole {
				obj, ok := r.whole.(map[string]any)
				if !ok {
					return nil, fmt.Errorf("want an object, got %s", typeName(r.whole))
				}
				return soapFromMap(obj)
			}
			for _, n := range r.names {
				if !xmlNameRE.MatchString(n) {
					return nil, fmt.Errorf("field %q is not an XML element name", n)
				}
			}
			return &soapElement{names: r.names, values: r.values}, nil
		},
	}.kind()
}

// payloadConnector names the Body element of the soap kind's payloads.
type payloadConnector struct {
	synclayer.Connector
	name xml.Name
}

// Sync sets the element name and pushes.
func (p payloadConnector) Sync(ctx context.Context, rec synclayer.Record) error {
	if e, ok := rec.Payload.(*soapElement); ok {
		cp := *e
		cp.name = p.name
		rec.Payload = &cp
	}
	return p.Connector.Sync(ctx, rec)
}

// Close closes the connector when it can be closed.
func (p payloadConnector) Close() error {
	if c, ok := p.Connector.(interface{ Close() error }); ok {
		return c.Close()
	}
	return nil
}

func soapFromMap(obj map[string]any) (*soapElement, error) {
	e := &soapElement{}
	for _, k := range sortedKeys(obj) {
		if !xmlNameRE.MatchString(k) {
			return nil, fmt.Errorf("field %q is not an XML element name", k)
		}
		e.names = append(e.names, k)
		e.values = append(e.values, obj[k])
	}
	return e, nil
}

// soapElement is the Body content of the soap kind: one element whose
// children are the record's fields.
type soapElement struct {
	name   xml.Name
	names  []string
	values []any
}

// MarshalXML writes the element and one child per field.
func (e *soapElement) MarshalXML(enc *xml.Encoder, _ xml.StartElement) error {
	start := xml.StartElement{Name: xml.Name{Local: e.name.Local}}
	if e.name.Space != "" {
		start.Attr = []xml.Attr{{Name: xml.Name{Local: "xmlns"}, Value: e.name.Space}}
	}
	if err := enc.EncodeToken(start); err != nil {
		return err
	}
	for i, n := range e.names {
		if err := encodeXMLValue(enc, n, e.values[i], 0); err != nil {
			return err
		}
	}
	return enc.EncodeToken(start.End())
}

func encodeXMLValue(enc *xml.Encoder, name string, v any, depth int) error {
	if depth > maxValueDepth {
		return fmt.Errorf("value nested deeper than %d levels", maxValueDepth)
	}
	start := xml.StartElement{Name: xml.Name{Local: name}}
	switch x := v.(type) {
	case nil:
		return enc.EncodeElement("", start)
	case map[string]any:
		if err := enc.EncodeToken(start); err != nil {
			return err
		}
		for _, k := range sortedKeys(x) {
			if !xmlNameRE.MatchString(k) {
				return fmt.Errorf("field %q is not an XML element name", k)
			}
			if err := encodeXMLValue(enc, k, x[k], depth+1); err != nil {
				return err
			}
		}
		return enc.EncodeToken(start.End())
	case []any:
		for _, item := range x {
			if err := encodeXMLValue(enc, name, item, depth+1); err != nil {
				return err
			}
		}
		return nil
	case time.Time:
		return enc.EncodeElement(x.UTC().Format(time.RFC3339Nano), start)
	case string:
		return enc.EncodeElement(x, start)
	}
	return enc.EncodeElement(strings.TrimSpace(fmt.Sprint(v)), start)
}
