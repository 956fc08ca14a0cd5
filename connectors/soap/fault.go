package soap

import (
	"bytes"
	"encoding/xml"
	"errors"
	"strings"
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
	Subcode string // SOAP 1.2 Subcode/Value as sent (a QName), if any
	Reason  string // faultstring or the first Reason/Text, bounded
	Actor   string // faultactor (1.1) or Node (1.2)
	Detail  string // the detail element's content, bounded
}

// unparsable is the Code of a Fault element that could not be decoded
// (cut short, or malformed).
const unparsable = "(unparsable)"

// maxFaultText bounds the texts a Fault keeps.
const maxFaultText = 1024

// Error reports the code and reason.
func (f *Fault) Error() string {
	var b strings.Builder
	b.WriteString("soap: fault ")
	b.WriteString(f.Code)
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
// again: Server (1.1) and Receiver (1.2) faults. Client, Sender,
// MustUnderstand, VersionMismatch, DataEncodingUnknown and unknown codes
// are not.
func (f *Fault) Retryable() bool {
	base, _, _ := strings.Cut(f.Code, ".")
	return base == "Server" || base == "Receiver"
}

type fault11 struct {
	Code   string   `xml:"faultcode"`
	String string   `xml:"faultstring"`
	Actor  string   `xml:"faultactor"`
	Detail innerXML `xml:"detail"`
}

type fault12 struct {
	Code struct {
		Value   string `xml:"http://www.w3.org/2003/05/soap-envelope Value"`
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
// own). It returns nil when body is not an envelope or holds no fault.
func parseFault(body []byte) *Fault {
	d := xml.NewDecoder(bytes.NewReader(body))
	depth := 0
	var ns string
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
				}
			case 3:
				if t.Name.Local != "Fault" || t.Name.Space != ns {
					return nil
				}
				return decodeFault(d, t, ns)
			}
		case xml.EndElement:
			depth--
			if depth < 2 {
				return nil
			}
		}
	}
}

func decodeFault(d *xml.Decoder, start xml.StartElement, ns string) *Fault {
	if ns == NamespaceSOAP11 {
		var f fault11
		if err := d.DecodeElement(&f, &start); err != nil {
			return &Fault{Version: SOAP11, Code: unparsable, Reason: bound(err.Error())}
		}
		return &Fault{
			Version: SOAP11,
			Code:    localName(f.Code),
			Reason:  bound(strings.TrimSpace(f.String)),
			Actor:   bound(strings.TrimSpace(f.Actor)),
			Detail:  bound(strings.TrimSpace(f.Detail.Inner)),
		}
	}
	var f fault12
	if err := d.DecodeElement(&f, &start); err != nil {
		return &Fault{Version: SOAP12, Code: unparsable, Reason: bound(err.Error())}
	}
	out := &Fault{
		Version: SOAP12,
		Code:    localName(f.Code.Value),
		Subcode: bound(strings.TrimSpace(f.Code.Subcode.Value)),
		Actor:   bound(strings.TrimSpace(f.Node)),
		Detail:  bound(strings.TrimSpace(f.Detail.Inner)),
	}
	if len(f.Reason.Text) > 0 {
		out.Reason = bound(strings.TrimSpace(f.Reason.Text[0]))
	}
	return out
}

// localName strips a QName's prefix: "soap:Server" -> "Server".
func localName(q string) string {
	q = strings.TrimSpace(q)
	if i := strings.LastIndexByte(q, ':'); i >= 0 {
		q = q[i+1:]
	}
	return bound(q)
}

func bound(s string) string {
	if len(s) <= maxFaultText {
		return s
	}
	cut := maxFaultText
	for cut > 0 && s[cut]&0xC0 == 0x80 {
		cut--
	}
	return s[:cut] + "…"
}
