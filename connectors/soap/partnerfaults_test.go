package soap_test

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/jarcoal/httpmock"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/unicode"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/connectors/partner"
	"github.com/hmsplatform/synclayer/connectors/soap"
)

// respond makes the mock answer every call with status, Content-Type and
// body as they are.
func respond(mt *httpmock.MockTransport, status int, contentType string, body []byte) {
	mt.RegisterResponder(http.MethodPost, endpoint, func(*http.Request) (*http.Response, error) {
		r := httpmock.NewBytesResponse(status, body)
		r.Header.Set("Content-Type", contentType)
		return r, nil
	})
}

// fault11Doc is a SOAP 1.1 fault document with an XML declaration of
// encoding decl ("" for none).
func fault11Doc(decl, code, reason string) string {
	head := `<?xml version="1.0"?>`
	if decl != "" {
		head = `<?xml version="1.0" encoding="` + decl + `"?>`
	}
	return head + `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><soap:Fault>` +
		`<faultcode>soap:` + code + `</faultcode><faultstring>` + reason + `</faultstring></soap:Fault></soap:Body></soap:Envelope>`
}

// TestFaultCharsets sends faults in the charsets Java and .NET servers
// use, declared in the XML declaration, in the Content-Type, by a byte
// order mark or by UTF-16 bytes alone. Each must be read as the fault it
// is: a Client fault permanent at once whatever the status (200
// included), a Server fault retried, the reason decoded.
func TestFaultCharsets(t *testing.T) {
	latin1 := func(s string) []byte { b, _ := charmap.ISO8859_1.NewEncoder().String(s); return []byte(b) }
	cp1252 := func(s string) []byte { b, _ := charmap.Windows1252.NewEncoder().String(s); return []byte(b) }
	utf16 := func(e unicode.Endianness, bom unicode.BOMPolicy) func(string) []byte {
		return func(s string) []byte { b, _ := unicode.UTF16(e, bom).NewEncoder().Bytes([]byte(s)); return b }
	}
	tests := []struct {
		name        string
		decl, ctype string
		encode      func(string) []byte
		status      int
		code        string
		reason      string
	}{
		{"ISO-8859-1 declared, Client at 500", "ISO-8859-1", "text/xml", latin1, 500, "Client", "Données refusées: clé «WF-1»"},
		{"ISO-8859-1 declared, Client at 200", "ISO-8859-1", "text/xml", latin1, 200, "Client", "Données refusées"},
		{"ISO-8859-1 declared, Server at 500", "iso-8859-1", "text/xml", latin1, 500, "Server", "Base indisponible, réessayez"},
		{"latin1 alias in the Content-Type only", "", "text/xml; charset=latin1", latin1, 500, "Client", "Schlüssel ungültig"},
		{"windows-1252 declared, Client at 200", "windows-1252", "text/xml", cp1252, 200, "Client", "Betrag über 100 € – abgelehnt"},
		{"UTF-16LE with a BOM", "UTF-16", "text/xml", utf16(unicode.LittleEndian, unicode.UseBOM), 500, "Client", "Ungültiger Schlüssel ü"},
		{"UTF-16BE with a BOM, Server", "UTF-16", "text/xml", utf16(unicode.BigEndian, unicode.UseBOM), 500, "Server", "Überlastet"},
		{"UTF-16BE without a BOM", "UTF-16", "text/xml", utf16(unicode.BigEndian, unicode.IgnoreBOM), 200, "Client", "Falsch ä"},
		{"UTF-16 in the Content-Type, declaration says so too", "UTF-16", "text/xml; charset=UTF-16", utf16(unicode.BigEndian, unicode.UseBOM), 500, "Client", "Falsch ö"},
		// A byte order mark is authoritative over the charset parameter
		// (RFC 7303 §3.2): a partner's framework often says utf-8
		// whatever its serializer wrote.
		{"UTF-16LE BOM under charset=utf-8, Client at 200", "", "text/xml; charset=utf-8", utf16(unicode.LittleEndian, unicode.UseBOM), 200, "Client", "Falsch ü"},
		{"UTF-16BE BOM under charset=utf-8, Server at 500", "", "text/xml; charset=utf-8", utf16(unicode.BigEndian, unicode.UseBOM), 500, "Server", "Überlastet"},
		{"UTF-8 BOM under charset=ISO-8859-1, Client at 200", "", "text/xml; charset=ISO-8859-1", func(s string) []byte { return append([]byte("\xef\xbb\xbf"), s...) }, 200, "Client", "Données refusées"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conn, mt := mockConn(t, soap.Config{})
			respond(mt, tt.status, tt.ctype, tt.encode(fault11Doc(tt.decl, tt.code, tt.reason)))
			err := conn.Sync(t.Context(), upsert("WF-1", 1))
			var f *soap.Fault
			if !errors.As(err, &f) {
				t.Fatalf("Sync = %v, want a *soap.Fault", err)
			}
			if f.Code != tt.code || f.Reason != tt.reason {
				t.Errorf("fault %q %q, want %q %q", f.Code, f.Reason, tt.code, tt.reason)
			}
			retryable := tt.code == "Server"
			if synclayer.IsPermanent(err) == retryable {
				t.Errorf("permanent = %v, want %v: %v", synclayer.IsPermanent(err), !retryable, err)
			}
			if n := mt.GetTotalCallCount(); n != 1 {
				t.Errorf("%d calls, want 1", n)
			}
		})
	}

	// A charset nobody knows still shows its ASCII structure: a Client
	// fault at 200 is a fault, not a success.
	conn, mt := mockConn(t, soap.Config{})
	respond(mt, 200, "text/xml", []byte(fault11Doc("x-no-such-charset", "Client", "no")))
	var f *soap.Fault
	if err := conn.Sync(t.Context(), upsert("WF-1", 1)); !errors.As(err, &f) || f.Code != "Client" || !synclayer.IsPermanent(err) {
		t.Errorf("fault in an unknown charset at 200: Sync = %v, want a permanent Client fault", err)
	}
}

// TestFaultCodeNamespaces checks that a fault code is SOAP's own only
// when its prefix is bound to the envelope's namespace where it is used
// (SOAP 1.1 §4.4.1, SOAP 1.2 Part 1 §5.4.6): an application's
// "app:Server" is an unknown code, and permanent.
func TestFaultCodeNamespaces(t *testing.T) {
	const env11 = `<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"%s><e:Body><e:Fault%s><faultcode%s>%s</faultcode><faultstring>r</faultstring></e:Fault></e:Body></e:Envelope>`
	const env12 = `<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope"%s><env:Body><env:Fault><env:Code><env:Value%s>%s</env:Value></env:Code><env:Reason><env:Text xml:lang="en">r</env:Text></env:Reason></env:Fault></env:Body></env:Envelope>`
	tests := []struct {
		name      string
		body      string
		status    int
		retryable bool
		ns        string
	}{
		{"1.1 e:Server, e bound to SOAP", fmt.Sprintf(env11, "", "", "", "e:Server"), 500, true, soap.NamespaceSOAP11},
		{"1.1 Server unprefixed", fmt.Sprintf(env11, "", "", "", "Server"), 500, true, soap.NamespaceSOAP11},
		{"1.1 s:Server, s bound on the Fault", fmt.Sprintf(env11, "", ` xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"`, "", "s:Server"), 500, true, soap.NamespaceSOAP11},
		{"1.1 app:Server, app bound on the Envelope", fmt.Sprintf(env11, ` xmlns:app="urn:example:app"`, "", "", "app:Server"), 500, false, "urn:example:app"},
		{"1.1 app:Server, app bound on faultcode", fmt.Sprintf(env11, "", "", ` xmlns:app="urn:example:app"`, "app:Server"), 500, false, "urn:example:app"},
		{"1.1 e:Server, e rebound on faultcode", fmt.Sprintf(env11, "", "", ` xmlns:e="urn:example:app"`, "e:Server"), 500, false, "urn:example:app"},
		{"1.1 x:Server, x unbound", fmt.Sprintf(env11, "", "", "", "x:Server"), 500, false, ""},
		{"1.1 Server under another default namespace", fmt.Sprintf(env11, "", "", ` xmlns="urn:example:app"`, "Server"), 500, false, "urn:example:app"},
		{"1.2 env:Receiver", fmt.Sprintf(env12, "", "", "env:Receiver"), 500, true, soap.NamespaceSOAP12},
		{"1.2 app:Receiver", fmt.Sprintf(env12, ` xmlns:app="urn:example:app"`, "", "app:Receiver"), 500, false, "urn:example:app"},
		{"1.2 app:Receiver, app bound on Value", fmt.Sprintf(env12, "", ` xmlns:app="urn:example:app"`, "app:Receiver"), 500, false, "urn:example:app"},
		{"1.2 env:Sender", fmt.Sprintf(env12, "", "", "env:Sender"), 400, false, soap.NamespaceSOAP12},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conn, mt := mockConn(t, soap.Config{})
			respond(mt, tt.status, "text/xml; charset=utf-8", []byte(tt.body))
			err := conn.Sync(t.Context(), upsert("WF-1", 1))
			var f *soap.Fault
			if !errors.As(err, &f) {
				t.Fatalf("Sync = %v, want a *soap.Fault", err)
			}
			if synclayer.IsPermanent(err) == tt.retryable {
				t.Errorf("permanent = %v, want %v: %v", synclayer.IsPermanent(err), !tt.retryable, err)
			}
			if f.Namespace != tt.ns || strings.Contains(f.Code, ":") {
				t.Errorf("fault code %q in namespace %q, want a local name in %q", f.Code, f.Namespace, tt.ns)
			}
			if foreign := tt.ns != soap.NamespaceSOAP11 && tt.ns != soap.NamespaceSOAP12; foreign != strings.Contains(err.Error(), "of namespace") {
				t.Errorf("error text %q: the namespace of a foreign code must show, SOAP's must not", err)
			}
		})
	}
}

// TestCallResponseAtTheBound: Call takes a response of exactly
// MaxResponseBytes, and refuses (permanent ErrRejected) one a byte over.
func TestCallResponseAtTheBound(t *testing.T) {
	type Got struct {
		Key string `xml:"Key"`
	}
	body := []byte(`<?xml version="1.0"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>` +
		`<Got><Key>K-1</Key></Got></soap:Body></soap:Envelope>`)
	for _, tc := range []struct {
		name  string
		limit int
		ok    bool
	}{
		{"exactly the bound", len(body), true},
		{"a byte over", len(body) - 1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, mt := mockConn(t, soap.Config{MaxResponseBytes: tc.limit})
			respond(mt, http.StatusOK, "text/xml; charset=utf-8", body)
			var got Got
			err := c.Call(t.Context(), "urn:example:records/Get", struct {
				XMLName struct{} `xml:"Get"`
			}{}, &got)
			switch {
			case tc.ok && (err != nil || got.Key != "K-1"):
				t.Errorf("Call = %v, decoded %+v; want K-1", err, got)
			case !tc.ok && (!errors.Is(err, partner.ErrRejected) || !synclayer.IsPermanent(err)):
				t.Errorf("Call = %v, want a permanent ErrRejected", err)
			}
		})
	}
}

// TestLargeClientFault: a fault whose detail runs past MaxResponseBytes
// is cut and cannot be decoded to its end, but its code was read before
// the cut: it is classified by that code. A Client (1.1) or Sender (1.2)
// fault at 500 is a refusal, permanent at once, not retried until the
// budget runs out; a Server or Receiver fault is still retried.
func TestLargeClientFault(t *testing.T) {
	const limit = 4 << 10
	big := strings.Repeat("x", 4*limit)
	env11 := func(code string) string {
		return `<?xml version="1.0"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><soap:Fault>` +
			`<faultcode>soap:` + code + `</faultcode><faultstring>bad</faultstring><detail>` + big + `</detail></soap:Fault></soap:Body></soap:Envelope>`
	}
	env12 := func(code string) string {
		return `<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope"><env:Body><env:Fault><env:Code><env:Value>env:` + code +
			`</env:Value></env:Code><env:Reason><env:Text xml:lang="en">bad</env:Text></env:Reason><env:Detail>` + big + `</env:Detail></env:Fault></env:Body></env:Envelope>`
	}
	for _, tt := range []struct {
		name, body, code string
		retryable        bool
	}{
		{"1.1 Client", env11("Client"), "Client", false},
		{"1.1 Server", env11("Server"), "Server", true},
		{"1.2 Sender", env12("Sender"), "Sender", false},
		{"1.2 Receiver", env12("Receiver"), "Receiver", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			conn, mt := mockConn(t, soap.Config{MaxResponseBytes: limit})
			respond(mt, http.StatusInternalServerError, "text/xml; charset=utf-8", []byte(tt.body))
			err := conn.Sync(t.Context(), upsert("WF-1", 1))
			var f *soap.Fault
			if !errors.As(err, &f) || f.Code != tt.code || f.Reason != "bad" {
				t.Fatalf("Sync = %v, want a %s fault", err, tt.code)
			}
			if synclayer.IsPermanent(err) == tt.retryable {
				t.Errorf("permanent = %v, want %v: %v", synclayer.IsPermanent(err), !tt.retryable, err)
			}
			if !strings.Contains(f.Detail, "cut off") {
				t.Errorf("detail %q does not say the fault was cut", f.Detail)
			}
		})
	}
}
