package soap

import (
	"encoding/xml"
	"errors"
	"strconv"
	"strings"

	"github.com/hmsplatform/synclayer/internal/clip"
)

// ErrFault marks an error that is a SOAP Fault; find the details with
// errors.As and a *[Fault].
var ErrFault = errors.New("soap: fault")

// Fault is a SOAP Fault returned by the partner, in either version's
// shape: SOAP 1.1 faultcode, faultstring, faultactor and detail; SOAP 1.2
// Code/Value, Subcode/Value, Reason/Text (the first), Node and Detail.
type Fault struct {
	Version Version
	Code    string // the fault code's local name: "Server", "Client", "Receiver", "Sender", ...; a SOAP 1.1 dotted code keeps its dots ("Client.Auth")
	// Namespace is the namespace the code's prefix is bound to where the
	// fault says it: the envelope's namespace for SOAP's own codes, another
	// for an application's code (such as "app:Server" with app bound to
	// the application's namespace), which is never retried. An unprefixed
	// code with no default namespace in scope counts as SOAP's.
	Namespace string
	Subcode   string // SOAP 1.2 Subcode/Value as sent (a QName), if any
	Reason    string // faultstring or the first Reason/Text, bounded
	Actor     string // faultactor (1.1) or Node (1.2)
	Detail    string // the detail element's content, bounded
}

// unparsable is the Code of a Fault element that could not be decoded
// (cut short, or malformed) before its code was read.
const unparsable = "(unparsable)"

// maxFaultText bounds the texts a Fault keeps.
const maxFaultText = 1024

// Error reports the code and reason.
func (f *Fault) Error() string {
	var b strings.Builder
	b.WriteString("soap: fault ")
	b.WriteString(f.Code)
	if f.Code != unparsable && f.Namespace != f.Version.namespace() {
		b.WriteString(" of namespace ")
		b.WriteString(strconv.Quote(f.Namespace))
	}
	if f.Subcode != "" {
		b.WriteString(" (")
		b.WriteString(f.Subcode)
		b.WriteString(")")
	}
	if f.Reason != "" {
		b.WriteString(": ")
		b.WriteString(f.Reason)
	}
	if f.Detail != "" {
		b.WriteString(": detail: ")
		b.WriteString(f.Detail)
	}
	return b.String()
}

// Unwrap returns [ErrFault].
func (f *Fault) Unwrap() error { return ErrFault }

// Redacted returns a copy of f with scrub applied to its texts, so that a
// fault echoing the request keeps no credential (see httpx.Redactable).
func (f *Fault) Redacted(scrub func(string) string) error {
	c := *f
	c.Subcode, c.Reason, c.Actor, c.Detail = scrub(f.Subcode), scrub(f.Reason), scrub(f.Actor), scrub(f.Detail)
	return &c
}

// Retryable reports whether the fault may pass if the same request is sent
// again: SOAP's own Server (1.1) and Receiver (1.2) faults. Client,
// Sender, MustUnderstand, VersionMismatch, DataEncodingUnknown, unknown
// codes and codes of another namespace (an application's "app:Server")
// are not.
func (f *Fault) Retryable() bool {
	switch f.Version {
	case SOAP11:
		base, _, _ := strings.Cut(f.Code, ".")
		return f.Namespace == NamespaceSOAP11 && base == "Server"
	case SOAP12:
		return f.Namespace == NamespaceSOAP12 && f.Code == "Receiver"
	}
	return false
}

// qname is an element whose text is a QName, with the namespace
// declarations made on it.
type qname struct {
	Value string     `xml:",chardata"`
	Attrs []xml.Attr `xml:",any,attr"`
}

// scope is the namespace bindings in force at an element: prefix ->
// namespace, "" for the default namespace.
type scope map[string]string

// with returns s extended by the declarations among attrs.
func (s scope) with(attrs []xml.Attr) scope {
	out := scope{}
	for k, v := range s {
		out[k] = v
	}
	for _, a := range attrs {
		switch {
		case a.Name.Space == "xmlns":
			out[a.Name.Local] = a.Value
		case a.Name.Space == "" && a.Name.Local == "xmlns":
			out[""] = a.Value
		}
	}
	return out
}

// resolve splits a QName into its namespace and local name. An unbound
// prefix gives the namespace "" (unknown). An unprefixed name takes the
// default namespace in scope or, with none, envelopeNS: servers commonly
// send SOAP's own codes unprefixed.
func (s scope) resolve(q string, envelopeNS string) (ns, local string) {
	q = strings.TrimSpace(q)
	prefix, local, ok := strings.Cut(q, ":")
	if !ok {
		if d := s[""]; d != "" {
			return d, q
		}
		return envelopeNS, q
	}
	return s[prefix], local
}

type fault11 struct {
	Code   qname    `xml:"faultcode"`
	String string   `xml:"faultstring"`
	Actor  string   `xml:"faultactor"`
	Detail innerXML `xml:"detail"`
}

type fault12 struct {
	Code struct {
		Attrs   []xml.Attr `xml:",any,attr"`
		Value   qname      `xml:"http://www.w3.org/2003/05/soap-envelope Value"`
		Subcode struct {
			Value string `xml:"http://www.w3.org/2003/05/soap-envelope Value"`
		} `xml:"http://www.w3.org/2003/05/soap-envelope Subcode"`
	} `xml:"http://www.w3.org/2003/05/soap-envelope Code"`
	Reason struct {
		Text []string `xml:"http://www.w3.org/2003/05/soap-envelope Text"`
	} `xml:"http://www.w3.org/2003/05/soap-envelope Reason"`
	Node   string   `xml:"http://www.w3.org/2003/05/soap-envelope Node"`
	Detail innerXML `xml:"http://www.w3.org/2003/05/soap-envelope Detail"`
}

type innerXML struct {
	Inner string `xml:",innerxml"`
}

// parseFault finds a Fault as the first child of the Body of a SOAP 1.1
// or 1.2 envelope (whatever version was sent: a server may answer in its
// own), read in the charset that contentType or the body declares. cut
// says body is the start of a longer response (see decodeFault). It
// returns nil when body is not an envelope or holds no fault.
func parseFault(body []byte, contentType string, cut bool) *Fault {
	d, err := newDecoder(body, contentType)
	if err != nil {
		return nil
	}
	depth := 0
	var ns string
	sc := scope{}
	for {
		tok, err := d.Token()
		if err != nil {
			return nil
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			switch depth {
			case 1:
				if t.Name.Local != "Envelope" || (t.Name.Space != NamespaceSOAP11 && t.Name.Space != NamespaceSOAP12) {
					return nil
				}
				ns = t.Name.Space
				sc = sc.with(t.Attr)
			case 2:
				if t.Name.Space != ns {
					return nil
				}
				if t.Name.Local == "Header" {
					if err := d.Skip(); err != nil {
						return nil
					}
					depth--
				} else if t.Name.Local != "Body" {
					return nil
				} else {
					sc = sc.with(t.Attr)
				}
			case 3:
				if t.Name.Local != "Fault" || t.Name.Space != ns {
					return nil
				}
				return decodeFault(d, t, ns, sc.with(t.Attr), cut)
			}
		case xml.EndElement:
			depth--
			if depth < 2 {
				return nil
			}
		}
	}
}

// decodeFault decodes the Fault element start, in the namespace scope sc
// of its parents and itself. When the body was cut (at MaxResponseBytes,
// inside a long detail) but the code was read whole before the cut, the
// fault is classified by that code, with what else was read and, as its
// Detail, why the rest is missing: a Client fault with a huge detail is
// still a refusal, not a retryable unknown. A fault that cannot be read
// otherwise (malformed, or cut before its code) is unparsable.
func decodeFault(d *xml.Decoder, start xml.StartElement, ns string, sc scope, cut bool) *Fault {
	if ns == NamespaceSOAP11 {
		var f fault11
		err := d.DecodeElement(&f, &start)
		if err != nil && (!cut || strings.TrimSpace(f.Code.Value) == "") {
			return &Fault{Version: SOAP11, Code: unparsable, Reason: clip.String(err.Error(), maxFaultText)}
		}
		codeNS, code := sc.with(f.Code.Attrs).resolve(f.Code.Value, ns)
		return &Fault{
			Version:   SOAP11,
			Code:      clip.String(code, maxFaultText),
			Namespace: codeNS,
			Reason:    clip.String(strings.TrimSpace(f.String), maxFaultText),
			Actor:     clip.String(strings.TrimSpace(f.Actor), maxFaultText),
			Detail:    faultDetail(f.Detail.Inner, err),
		}
	}
	var f fault12
	err := d.DecodeElement(&f, &start)
	if err != nil && (!cut || strings.TrimSpace(f.Code.Value.Value) == "") {
		return &Fault{Version: SOAP12, Code: unparsable, Reason: clip.String(err.Error(), maxFaultText)}
	}
	codeNS, code := sc.with(f.Code.Attrs).with(f.Code.Value.Attrs).resolve(f.Code.Value.Value, ns)
	out := &Fault{
		Version:   SOAP12,
		Code:      clip.String(code, maxFaultText),
		Namespace: codeNS,
		Subcode:   clip.String(strings.TrimSpace(f.Code.Subcode.Value), maxFaultText),
		Actor:     clip.String(strings.TrimSpace(f.Node), maxFaultText),
		Detail:    faultDetail(f.Detail.Inner, err),
	}
	if len(f.Reason.Text) > 0 {
		out.Reason = clip.String(strings.TrimSpace(f.Reason.Text[0]), maxFaultText)
	}
	return out
}

// faultDetail is the bounded Detail of a fault: the detail element's
// content or, when the body was cut inside the fault (err), why.
func faultDetail(inner string, err error) string {
	if err != nil {
		return clip.String("(the rest of the fault is cut off: "+err.Error()+")", maxFaultText)
	}
	return clip.String(strings.TrimSpace(inner), maxFaultText)
}
