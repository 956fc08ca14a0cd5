package soap_test

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"strings"
	"testing"

	"github.com/hmsplatform/synclayer/connectors/internal/conntest"
	"github.com/hmsplatform/synclayer/connectors/partner"
	"github.com/hmsplatform/synclayer/connectors/soap"
)

// base64Binary is an xs:base64Binary value: encoding/xml keeps a []byte
// field's text as it is, so a WSDL's binary field decodes through
// UnmarshalText.
type base64Binary []byte

// UnmarshalText decodes the base64 text of the element.
func (b *base64Binary) UnmarshalText(text []byte) error {
	v, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(text)))
	*b = v
	return err
}

// GetDocumentResponse is the answer of the partner's read of a document,
// whose Content is an xs:base64Binary that MTOM sends as an attachment.
type GetDocumentResponse struct {
	XMLName xml.Name     `xml:"urn:example:records GetDocumentResponse"`
	Key     string       `xml:"Key"`
	Content base64Binary `xml:"Content"`
	Note    string       `xml:"Note"`
}

// documentResponse is an envelope whose Content is an xop:Include of
// href, and whose Note is note.
func documentResponse(href, note string) string {
	return `<?xml version="1.0" ?><S:Envelope xmlns:S="http://schemas.xmlsoap.org/soap/envelope/"><S:Body>` +
		`<ns2:GetDocumentResponse xmlns:ns2="urn:example:records" xmlns:xop="http://www.w3.org/2004/08/xop/include"><Key>WF-1</Key>` +
		`<Content><xop:Include href="` + href + `"/></Content><Note>` + note + `</Note></ns2:GetDocumentResponse></S:Body></S:Envelope>`
}

// TestCallMTOMAttachment answers a read with an MTOM body whose
// xs:base64Binary Content is an xop:Include of an attachment, as JAX-WS
// @MTOM and WCF send a large binary value: the attachment is the value,
// as if its base64 were the element's text (XOP 1.0 §3.2), matched by its
// Content-ID to the href's cid: URL (RFC 2392, URL-escaped), and a part
// no xop:Include refers to is ignored. A text field that is an
// xop:Include reads the base64 text a plain answer would carry.
func TestCallMTOMAttachment(t *testing.T) {
	pdf := []byte("%PDF-1.7\r\n\x00\xff\xfe binary \r\n--" + mtomBoundary + "x\r\n")
	doc := mtomPart{"<1.urn:uuid:5f3a@apache.org>", "application/pdf", string(pdf)}
	wcf := mtomPart{"<http://tempuri.org/1/632618206527087310>", "application/octet-stream", string(pdf)}
	other := mtomPart{"<2.urn:uuid:77aa@apache.org>", "image/png", "\x89PNG unrelated"}
	tests := []struct {
		name, ctype, body string
		note              string // the Note decoded
	}{
		{"JAX-WS, attachment after the root", mtomType(mtomRootID),
			mtomBody(rootPart(documentResponse("cid:1.urn:uuid:5f3a@apache.org", "plain")), doc), "plain"},
		{"attachment before the root, named by start", mtomType(mtomRootID),
			mtomBody(doc, rootPart(documentResponse("cid:1.urn:uuid:5f3a@apache.org", "plain")), other), "plain"},
		{"WCF: URL-escaped href, Content-ID in angle brackets", `multipart/related; type="application/xop+xml"; start="<http://tempuri.org/0>"; boundary="` + mtomBoundary + `"; start-info="text/xml"`,
			mtomBody(mtomPart{"<http://tempuri.org/0>", `application/xop+xml;charset=utf-8;type="text/xml"`,
				documentResponse("cid:http%3A%2F%2Ftempuri.org%2F1%2F632618206527087310", "plain")}, wcf), "plain"},
		{"an unreferenced attachment beside it", mtomType(""),
			mtomBody(rootPart(documentResponse("cid:1.urn:uuid:5f3a@apache.org", "plain")), other, doc), "plain"},
		{"a text field that is an xop:Include", mtomType(mtomRootID),
			mtomBody(rootPart(documentResponse("cid:1.urn:uuid:5f3a@apache.org",
				`<xop:Include href="cid:2.urn:uuid:77aa@apache.org"/>`)), doc, other), base64.StdEncoding.EncodeToString([]byte(other.content))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conn := answering(t, tt.ctype, tt.body, soap.Config{})
			var out GetDocumentResponse
			if err := conn.Call(t.Context(), "urn:example:records/GetDocument", &UpsertRecord{Key: "WF-1"}, &out); err != nil {
				t.Fatalf("Call answered with an MTOM attachment = %v", err)
			}
			if out.Key != "WF-1" || !bytes.Equal(out.Content, pdf) || out.Note != tt.note {
				t.Errorf("decoded Key %q, Content %q, Note %q; want WF-1, %q, %q", out.Key, out.Content, out.Note, pdf, tt.note)
			}
		})
	}
}

// TestCallMTOMMissingAttachment answers with an xop:Include whose part
// is not in the body: the answer is malformed, and Call fails for good
// with an error naming the cid, rather than decode an empty value.
func TestCallMTOMMissingAttachment(t *testing.T) {
	tests := []struct{ name, href, want string }{
		{"no part with that Content-ID", "cid:missing@example.org", "cid:missing@example.org"},
		{"not a cid: URL", "http://example.org/doc.pdf", "http://example.org/doc.pdf"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conn := answering(t, mtomType(mtomRootID), mtomBody(rootPart(documentResponse(tt.href, "plain")), attachment), soap.Config{})
			var out GetDocumentResponse
			err := conn.Call(t.Context(), "urn:example:records/GetDocument", &UpsertRecord{Key: "WF-1"}, &out)
			if conntest.CheckClass(t, err, partner.ErrRejected, true) && (!strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "xop:Include")) {
				t.Errorf("error %q does not name the xop:Include of %q", err, tt.want)
			}
		})
	}
}

// TestCallMTOMAttachmentOverMaxResponseBytes answers with an attachment
// that takes the multipart/related body over MaxResponseBytes, its root
// part well under it: the bound covers the whole body, attachments
// included, and Call refuses the answer rather than decode part of it.
func TestCallMTOMAttachmentOverMaxResponseBytes(t *testing.T) {
	const limit = 4096
	big := mtomPart{"<1.urn:uuid:5f3a@apache.org>", "application/pdf", strings.Repeat("\x00PDF", limit)}
	body := mtomBody(rootPart(documentResponse("cid:1.urn:uuid:5f3a@apache.org", "plain")), big)
	conn := answering(t, mtomType(mtomRootID), body, soap.Config{MaxResponseBytes: limit})
	var out GetDocumentResponse
	err := conn.Call(t.Context(), "urn:example:records/GetDocument", &UpsertRecord{Key: "WF-1"}, &out)
	if conntest.CheckClass(t, err, partner.ErrRejected, true) && !strings.Contains(err.Error(), "over MaxResponseBytes (4096)") {
		t.Errorf("error %q does not say the answer is over MaxResponseBytes", err)
	}
}
