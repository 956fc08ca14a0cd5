package soap_test

import (
	"encoding/xml"
	"errors"
	"net/http"
	"strings"
	"testing"

	"golang.org/x/text/encoding/charmap"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/connectors/internal/conntest"
	"github.com/hmsplatform/synclayer/connectors/partner"
	"github.com/hmsplatform/synclayer/connectors/soap"
)

const (
	mtomBoundary = "uuid:0ca0e16e-feb1-426c-97d8-c4508ada5e82"
	mtomRootID   = "<rootpart*0ca0e16e@example.jaxws.sun.com>"
)

// mtomPart is one part of a multipart/related body.
type mtomPart struct {
	id, ctype, content string
}

// mtomBody is a multipart/related body of parts, as JAX-WS and WCF
// write it.
func mtomBody(parts ...mtomPart) string {
	var b strings.Builder
	for _, p := range parts {
		b.WriteString("\r\n--" + mtomBoundary + "\r\n")
		if p.id != "" {
			b.WriteString("Content-Id: " + p.id + "\r\n")
		}
		b.WriteString("Content-Type: " + p.ctype + "\r\n")
		b.WriteString("Content-Transfer-Encoding: binary\r\n\r\n")
		b.WriteString(p.content)
	}
	b.WriteString("\r\n--" + mtomBoundary + "--\r\n")
	return b.String()
}

// answering returns a connector of cfg whose partner answers its next
// request with a 200 of body, of Content-Type ctype.
func answering(t *testing.T, ctype, body string, cfg soap.Config) *soap.Connector {
	t.Helper()
	p := newPartner(t)
	p.faults.Inject(conntest.Status(200, body, "Content-Type", ctype))
	cfg.URL = p.srv.URL
	conn, err := soap.New(cfg)
	return conntest.Open(t, conn, err)
}

// mtomType is the Content-Type of an MTOM answer whose root part is start
// ("" for none: the first part is the root).
func mtomType(start string) string {
	ct := `multipart/related;type="application/xop+xml";boundary="` + mtomBoundary + `";start-info="text/xml"`
	if start != "" {
		ct = `multipart/related;start="` + start + `";type="application/xop+xml";boundary="` + mtomBoundary + `";start-info="text/xml"`
	}
	return ct
}

// rootPart is the root part of an MTOM answer holding envelope in UTF-8.
func rootPart(envelope string) mtomPart {
	return mtomPart{mtomRootID, `application/xop+xml;charset=utf-8;type="text/xml"`, envelope}
}

// attachment is a binary part beside the root, as MTOM sends a large
// base64 value.
var attachment = mtomPart{"<1.urn:uuid:5f3a@apache.org>", "application/octet-stream", "\x89PNG\r\n\x1a\n\x00\x00--not-a-boundary\xff"}

const upsertResponse = `<?xml version="1.0" ?><S:Envelope xmlns:S="http://schemas.xmlsoap.org/soap/envelope/"><S:Body><ns2:UpsertRecordResponse xmlns:ns2="urn:example:records"><Key>WF-1</Key></ns2:UpsertRecordResponse></S:Body></S:Envelope>`

// TestMTOMAnswerConfirmsThePush answers an applied upsert the way a
// JAX-WS @MTOM or a WCF messageEncoding="Mtom" service always does: a
// multipart/related body whose root part (the one the start parameter
// names, else the first) holds the envelope. That is the partner's
// answer, and a success.
func TestMTOMAnswerConfirmsThePush(t *testing.T) {
	tests := []struct {
		name, ctype, body string
	}{
		{"JAX-WS, root part first", mtomType(mtomRootID), mtomBody(rootPart(upsertResponse))},
		{"root part after an attachment, named by start", mtomType(mtomRootID), mtomBody(attachment, rootPart(upsertResponse))},
		{"no start parameter: the first part", mtomType(""), mtomBody(rootPart(upsertResponse), attachment)},
		{"WCF, SOAP 1.2", `multipart/related; type="application/xop+xml"; start="<http://tempuri.org/0>"; boundary="` + mtomBoundary + `"; start-info="application/soap+xml"`,
			mtomBody(mtomPart{"<http://tempuri.org/0>", `application/xop+xml;charset=utf-8;type="application/soap+xml"`,
				`<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body><UpsertRecordResponse xmlns="urn:example:records"/></s:Body></s:Envelope>`})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPartner(t)
			p.faults.Inject(func(w http.ResponseWriter, r *http.Request, apply func() int) {
				apply()
				conntest.Status(200, tt.body, "Content-Type", tt.ctype)(w, r, apply)
			})
			conn, err := soap.New(soap.Config{URL: p.srv.URL})
			conn = conntest.Open(t, conn, err)
			if err := conn.Sync(t.Context(), upsert("WF-1", 1)); err != nil {
				t.Fatalf("Sync answered with an MTOM envelope = %v, want success", err)
			}
			if got, _ := p.lookup(t.Context(), "WF-1"); len(got) != 1 || got[0] != 1 {
				t.Errorf("partner holds %v, want version 1", got)
			}
		})
	}
}

// TestMTOMFault answers with a fault in the root part of an MTOM body, at
// 500 and at 200: it is judged by its code as any fault is (Client
// permanent, Server retried), and its reason is read in the charset of
// the root part's own Content-Type.
func TestMTOMFault(t *testing.T) {
	latin1 := func(s string) string { b, _ := charmap.ISO8859_1.NewEncoder().String(s); return b }
	for _, status := range []int{500, 200} {
		for _, code := range []string{"Client", "Server"} {
			t.Run(http.StatusText(status)+"/"+code, func(t *testing.T) {
				reason := "Données refusées"
				env := `<?xml version="1.0" ?><S:Envelope xmlns:S="http://schemas.xmlsoap.org/soap/envelope/"><S:Body><S:Fault>` +
					`<faultcode>S:` + code + `</faultcode><faultstring>` + latin1(reason) + `</faultstring></S:Fault></S:Body></S:Envelope>`
				body := mtomBody(attachment, mtomPart{mtomRootID, `application/xop+xml; charset=ISO-8859-1; type="text/xml"`, env})
				p := newPartner(t)
				p.faults.Inject(conntest.Status(status, body, "Content-Type", mtomType(mtomRootID)))
				conn, err := soap.New(soap.Config{URL: p.srv.URL})
				conn = conntest.Open(t, conn, err)
				err = conn.Sync(t.Context(), upsert("WF-1", 1))
				var f *soap.Fault
				if !errors.As(err, &f) {
					t.Fatalf("Sync = %v, want a *soap.Fault", err)
				}
				if f.Code != code || f.Reason != reason {
					t.Errorf("fault %q %q, want %q %q", f.Code, f.Reason, code, reason)
				}
				kind, permanent := error(partner.ErrRejected), true
				if code == "Server" {
					kind, permanent = partner.ErrUnavailable, false
				}
				conntest.CheckClass(t, err, kind, permanent)
				var he *partner.Error
				if !errors.As(err, &he) || he.StatusCode != status {
					t.Errorf("status not carried: %+v", he)
				}
			})
		}
	}
}

// TestMTOMWithoutEnvelope answers 200 with a multipart/related
// Content-Type but no root part holding an envelope: the partner
// confirmed nothing, and the push fails retryably, as for any other 2xx
// answer that is not an envelope.
func TestMTOMWithoutEnvelope(t *testing.T) {
	tests := []struct {
		name, ctype, body, want string
	}{
		{"no boundary parameter", "multipart/related", mtomBody(rootPart(upsertResponse)), "boundary"},
		{"not multipart at all", mtomType(mtomRootID), "<html>proxy error</html>", "proxy error"},
		{"no part named by start", mtomType("<other@example>"), mtomBody(rootPart(upsertResponse)), "<other@example>"},
		{"root part is not an envelope", mtomType(mtomRootID), mtomBody(rootPart(`<html>proxy error</html>`)), "root element html"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conn := answering(t, tt.ctype, tt.body, soap.Config{})
			err := conn.Sync(t.Context(), upsert("WF-1", 1))
			if conntest.CheckClass(t, err, partner.ErrUnavailable, false) &&
				(!strings.Contains(err.Error(), "not a SOAP envelope") || !strings.Contains(err.Error(), tt.want)) {
				t.Errorf("error %q does not say it is not a SOAP envelope, and %q", err, tt.want)
			}
		})
	}
}

// TestCallMTOMAnswer reads the content of an MTOM answer's envelope with
// Call, and judges a fault in one as Sync does.
func TestCallMTOMAnswer(t *testing.T) {
	p := newPartner(t)
	conn, err := soap.New(soap.Config{URL: p.srv.URL})
	conn = conntest.Open(t, conn, err)

	p.faults.Inject(conntest.Status(200, mtomBody(attachment, rootPart(upsertResponse)), "Content-Type", mtomType(mtomRootID)))
	var out struct {
		XMLName xml.Name `xml:"urn:example:records UpsertRecordResponse"`
		Key     string   `xml:"Key"`
	}
	if err := conn.Call(t.Context(), "urn:example:records/Upsert", &UpsertRecord{Key: "WF-1", Version: 1}, &out); err != nil {
		t.Fatalf("Call answered with an MTOM envelope = %v", err)
	}
	if out.Key != "WF-1" {
		t.Errorf("decoded %+v, want Key WF-1", out)
	}

	fault := `<S:Envelope xmlns:S="http://schemas.xmlsoap.org/soap/envelope/"><S:Body><S:Fault><faultcode>S:Client</faultcode><faultstring>no such op</faultstring></S:Fault></S:Body></S:Envelope>`
	p.faults.Inject(conntest.Status(200, mtomBody(rootPart(fault)), "Content-Type", mtomType(mtomRootID)))
	err = conn.Call(t.Context(), "urn:example:records/Upsert", &UpsertRecord{Key: "WF-1", Version: 1}, &out)
	var f *soap.Fault
	if !errors.As(err, &f) || f.Code != "Client" || !synclayer.IsPermanent(err) {
		t.Errorf("Call answered with an MTOM Client fault = %v, want a permanent Client fault", err)
	}
}
