package soap_test

import (
	"context"
	"crypto/sha1"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/connectors/internal/conntest"
	"github.com/hmsplatform/synclayer/connectors/partner"
	"github.com/hmsplatform/synclayer/connectors/soap"
)

const endpoint = "https://soap.example.test/RecordService"

// okEnvelope is a partner's answer to a call that succeeded: an envelope
// with an empty Body.
const okEnvelope = `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body/></soap:Envelope>`

func mockConn(t *testing.T, cfg soap.Config) (*soap.Connector, *httpmock.MockTransport) {
	t.Helper()
	if cfg.URL == "" {
		cfg.URL = endpoint
	}
	return conntest.Mock(t, func(c *http.Client) (*soap.Connector, error) {
		cfg.Client = c
		return soap.New(cfg)
	})
}

func upsert(key string, version int64) synclayer.Record {
	return synclayer.Record{Key: key, Version: version, Payload: UpsertRecord{Key: key, Version: version}}
}

func TestContractEnvelopes(t *testing.T) {
	tests := []struct {
		version     soap.Version
		action      string
		contentType string
		soapAction  []string
		envelope    string
	}{
		{soap.SOAP11, "urn:example:records/Upsert", "text/xml; charset=utf-8", []string{`"urn:example:records/Upsert"`},
			`<?xml version="1.0" encoding="UTF-8"?>` + "\n" + `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><UpsertRecord xmlns="urn:example:records"><Key>WF-1</Key><Version>3</Version></UpsertRecord></soap:Body></soap:Envelope>`},
		{soap.SOAP11, "", "text/xml; charset=utf-8", []string{`""`}, ""},
		{soap.SOAP12, "urn:example:records/Upsert", `application/soap+xml; charset=utf-8; action="urn:example:records/Upsert"`, nil,
			`<?xml version="1.0" encoding="UTF-8"?>` + "\n" + `<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope"><soap:Body><UpsertRecord xmlns="urn:example:records"><Key>WF-1</Key><Version>3</Version></UpsertRecord></soap:Body></soap:Envelope>`},
		{soap.SOAP12, "", "application/soap+xml; charset=utf-8", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.version.String()+"/"+tt.action, func(t *testing.T) {
			conn, mt := mockConn(t, soap.Config{Version: tt.version, Action: tt.action})
			sent := conntest.Capture(mt, http.MethodPost, endpoint, 200, `<soap:Envelope xmlns:soap="`+soap.NamespaceSOAP11+`"><soap:Body/></soap:Envelope>`)
			if err := conn.Sync(context.Background(), upsert("WF-1", 3)); err != nil {
				t.Fatal(err)
			}
			if ct := sent.Request.Header.Get("Content-Type"); ct != tt.contentType {
				t.Errorf("Content-Type %q, want %q", ct, tt.contentType)
			}
			if sa := sent.Request.Header.Values("SOAPAction"); strings.Join(sa, ",") != strings.Join(tt.soapAction, ",") {
				t.Errorf("SOAPAction %q, want %q", sa, tt.soapAction)
			}
			if tt.envelope != "" && string(sent.Body) != tt.envelope {
				t.Errorf("envelope\n%s\nwant\n%s", sent.Body, tt.envelope)
			}
		})
	}
}

func TestContractDelete(t *testing.T) {
	conn, mt := mockConn(t, soap.Config{DeleteAction: "urn:example:records/Delete",
		DeleteBody: func(key string, _ int64) any { return DeleteRecord{Key: key} }})
	var c call
	mt.RegisterResponder(http.MethodPost, endpoint, func(r *http.Request) (*http.Response, error) {
		raw, _ := io.ReadAll(r.Body)
		c, _ = parse(raw)
		c.SOAPAction = r.Header.Values("SOAPAction")
		return httpmock.NewStringResponse(200, okEnvelope), nil
	})
	if err := conn.Sync(context.Background(), synclayer.Record{Key: "WF-1", Delete: true}); err != nil {
		t.Fatal(err)
	}
	if c.Delete == nil || c.Delete.Key != "WF-1" || c.SOAPAction[0] != `"urn:example:records/Delete"` {
		t.Errorf("delete call %+v", c)
	}
	noDelete, _ := mockConn(t, soap.Config{})
	err := noDelete.Sync(context.Background(), synclayer.Record{Key: "WF-1", Delete: true})
	if !errors.Is(err, partner.ErrPayload) || !synclayer.IsPermanent(err) {
		t.Errorf("delete without DeleteBody: %v", err)
	}
}

// Faults are judged by their code, whatever the HTTP status.
func TestFaultClassification(t *testing.T) {
	tests := []struct {
		version   soap.Version
		status    int
		code      string
		retryable bool
	}{
		{soap.SOAP11, 500, "Server", true},
		{soap.SOAP11, 200, "Server", true},
		{soap.SOAP11, 500, "Server.Database", true},
		{soap.SOAP11, 500, "Client", false},
		{soap.SOAP11, 200, "Client", false},
		{soap.SOAP11, 503, "Client.Authentication", false},
		{soap.SOAP11, 500, "MustUnderstand", false},
		{soap.SOAP11, 500, "VersionMismatch", false},
		{soap.SOAP12, 500, "Receiver", true},
		{soap.SOAP12, 400, "Receiver", true},
		{soap.SOAP12, 400, "Sender", false},
		{soap.SOAP12, 500, "Sender", false},
		{soap.SOAP12, 200, "DataEncodingUnknown", false},
		{soap.SOAP12, 500, "MustUnderstand", false},
	}
	for _, tt := range tests {
		t.Run(tt.version.String()+"/"+tt.code+"/"+http.StatusText(tt.status), func(t *testing.T) {
			p := newPartner(t)
			p.faults.Inject(faultWith(tt.version, tt.status, tt.code, "the reason <&>"))
			conn, err := soap.New(soap.Config{URL: p.srv.URL, Version: tt.version})
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			err = conn.Sync(t.Context(), upsert("k", 1))
			if err == nil {
				t.Fatal("fault not reported")
			}
			if synclayer.IsPermanent(err) == tt.retryable {
				t.Errorf("permanent = %v, want %v: %v", synclayer.IsPermanent(err), !tt.retryable, err)
			}
			var f *soap.Fault
			if !errors.As(err, &f) || !errors.Is(err, soap.ErrFault) {
				t.Fatalf("no *Fault in %v", err)
			}
			if f.Code != tt.code || f.Reason != "the reason <&>" || f.Version != tt.version {
				t.Errorf("fault %+v", f)
			}
			if tt.version == soap.SOAP12 && f.Subcode != "m:Busy" {
				t.Errorf("subcode %q", f.Subcode)
			}
			if !strings.Contains(err.Error(), "the reason <&>") || !strings.Contains(err.Error(), tt.code) {
				t.Errorf("error text %q lacks the fault", err)
			}
			var he *partner.Error
			if !errors.As(err, &he) || he.StatusCode != tt.status {
				t.Errorf("status not carried: %+v", he)
			}
		})
	}
}

func TestStatusWithoutFault(t *testing.T) {
	tests := []struct {
		status int
		kind   error
	}{
		{503, partner.ErrUnavailable}, {429, partner.ErrRateLimited}, {500, partner.ErrUnavailable},
		{400, partner.ErrRejected}, {404, partner.ErrNotFound}, {401, partner.ErrUnauthorized},
	}
	for _, tt := range tests {
		conn, mt := mockConn(t, soap.Config{})
		mt.RegisterResponder(http.MethodPost, endpoint, httpmock.NewStringResponder(tt.status, "<html>proxy error</html>"))
		err := conn.Sync(context.Background(), upsert("k", 1))
		if !errors.Is(err, tt.kind) || errors.Is(err, soap.ErrFault) {
			t.Errorf("%d: %v, want %v", tt.status, err, tt.kind)
		}
	}
}

// XML specials, ]]> and non-ASCII text arrive exactly as sent.
func TestXMLSpecialsArriveExactly(t *testing.T) {
	p := newPartner(t)
	conn, err := soap.New(soap.Config{URL: p.srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	texts := []string{
		`<Key>injected</Key>`, `]]>`, `<![CDATA[x]]>`, `a & b; &amp; &#60;`, `"quoted" 'single'`,
		"line1\nline2\r\nline3\ttab", "Grüße 日本 🚀", `</UpsertRecord><DeleteRecord><Key>victim</Key></DeleteRecord>`,
	}
	for i, s := range texts {
		rec := synclayer.Record{Key: "k", Payload: UpsertRecord{Key: "key-" + s, Version: int64(i), Note: s}}
		if err := conn.Sync(t.Context(), rec); err != nil {
			t.Fatalf("%q: %v", s, err)
		}
	}
	calls := p.requests()
	for i, s := range texts {
		c := calls[i]
		if c.Upsert == nil || c.Delete != nil || c.Upsert.Note != s || c.Upsert.Key != "key-"+s {
			t.Errorf("sent %q, partner got %+v (delete %+v)", s, c.Upsert, c.Delete)
		}
	}
}

func TestBadPayloads(t *testing.T) {
	conn, mt := mockConn(t, soap.Config{MaxPayloadBytes: 512})
	mt.RegisterNoResponder(httpmock.NewStringResponder(200, ""))
	bad := map[string]any{
		"nil":            nil,
		"control char":   UpsertRecord{Key: "a\x01b"},
		"NUL":            UpsertRecord{Note: "x\x00"},
		"invalid UTF-8":  UpsertRecord{Note: "\xff\xfe"},
		"unmarshallable": map[string]string{"a": "b"},
		"channel":        make(chan int),
		"too large":      UpsertRecord{Note: strings.Repeat("x", 600)},
	}
	for name, p := range bad {
		err := conn.Sync(context.Background(), synclayer.Record{Key: "k", Payload: p})
		if !errors.Is(err, partner.ErrPayload) || !synclayer.IsPermanent(err) || !strings.HasPrefix(err.Error(), "soap: ") {
			t.Errorf("%s: %v, want permanent ErrPayload", name, err)
		}
	}
	if n := mt.GetTotalCallCount(); n != 0 {
		t.Errorf("%d requests sent", n)
	}
}

func TestUsernameToken(t *testing.T) {
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	for _, digest := range []bool{false, true} {
		conn, mt := mockConn(t, soap.Config{Security: &soap.UsernameToken{Username: "svc", Password: "pa<ss>", Digest: digest}, Now: func() time.Time { return now }})
		var raw []byte
		mt.RegisterNoResponder(func(r *http.Request) (*http.Response, error) {
			raw, _ = io.ReadAll(r.Body)
			return httpmock.NewStringResponse(200, okEnvelope), nil
		})
		if err := conn.Sync(context.Background(), upsert("k", 1)); err != nil {
			t.Fatal(err)
		}
		var env struct {
			Header struct {
				Security struct {
					MustUnderstand string `xml:"mustUnderstand,attr"`
					Token          struct {
						Username string `xml:"Username"`
						Password struct {
							Type  string `xml:"Type,attr"`
							Value string `xml:",chardata"`
						} `xml:"Password"`
						Nonce   string `xml:"Nonce"`
						Created string `xml:"Created"`
					} `xml:"http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd UsernameToken"`
				} `xml:"http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd Security"`
			} `xml:"http://schemas.xmlsoap.org/soap/envelope/ Header"`
		}
		if err := xml.Unmarshal(raw, &env); err != nil {
			t.Fatal(err)
		}
		tok := env.Header.Security.Token
		if tok.Username != "svc" || env.Header.Security.MustUnderstand != "1" {
			t.Errorf("token %+v", env.Header.Security)
		}
		if !digest {
			if tok.Password.Value != "pa<ss>" || !strings.HasSuffix(tok.Password.Type, "#PasswordText") {
				t.Errorf("text password %+v", tok.Password)
			}
			continue
		}
		nonce, _ := base64.StdEncoding.DecodeString(tok.Nonce)
		h := sha1.New()
		h.Write(nonce)
		h.Write([]byte(tok.Created))
		h.Write([]byte("pa<ss>"))
		if want := base64.StdEncoding.EncodeToString(h.Sum(nil)); tok.Password.Value != want || len(nonce) != 16 ||
			tok.Created != "2026-03-10T12:00:00.000Z" || !strings.HasSuffix(tok.Password.Type, "#PasswordDigest") {
			t.Errorf("digest token %+v", tok)
		}
		if strings.Contains(string(raw), "pa<ss>") || strings.Contains(string(raw), "pa&lt;ss&gt;") {
			t.Error("digest mode sent the password")
		}
	}
}

func TestConfigValidation(t *testing.T) {
	tests := []struct {
		name string
		cfg  soap.Config
		want string // part of the error; "" means valid
	}{
		{"valid", soap.Config{URL: endpoint}, ""},
		{"missing URL", soap.Config{}, "URL is required"},
		{"relative URL", soap.Config{URL: "/svc"}, "absolute"},
		{"bad version", soap.Config{URL: endpoint, Version: 13}, "unknown"},
		{"quote in action", soap.Config{URL: endpoint, Action: `urn:a"b`}, "action"},
		{"CRLF in action", soap.Config{URL: endpoint, DeleteAction: "urn:a\r\nX: y"}, "action"},
		{"no username", soap.Config{URL: endpoint, Security: &soap.UsernameToken{Password: "hunter2"}}, "Username"},
		{"content type header", soap.Config{URL: endpoint, Header: http.Header{"Content-Type": {"x"}}}, "set by the connector"},
		{"header CRLF", soap.Config{URL: endpoint, Header: http.Header{"X-A": {"a\nb"}}}, "CR, LF"},
		{"negative concurrency", soap.Config{URL: endpoint, Concurrency: -1}, "Concurrency(-1): must not be negative"},
		{"negative payload bound", soap.Config{URL: endpoint, MaxPayloadBytes: -1}, "MaxPayloadBytes(-1)"},
		{"negative response bound", soap.Config{URL: endpoint, MaxResponseBytes: -1}, "MaxResponseBytes(-1)"},
	}
	newConn := func(cfg soap.Config) (conntest.Closer, error) { return soap.New(cfg) }
	for _, tt := range tests {
		conntest.CheckConfig(t, tt.name, "soap: config: ", "hunter2", newConn, tt.cfg, tt.want)
	}
}

func TestMalformedFault(t *testing.T) {
	const broken = `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><s:Fault><faultcode>s:Server</faultcode><faultstring>oops</s:Fault>`
	tests := []struct {
		status    int
		kind      error
		permanent bool
	}{
		{200, partner.ErrRejected, true},
		{500, partner.ErrUnavailable, false},
		{400, partner.ErrRejected, true},
	}
	for _, tt := range tests {
		conn, mt := mockConn(t, soap.Config{})
		mt.RegisterResponder(http.MethodPost, endpoint, httpmock.NewStringResponder(tt.status, broken))
		err := conn.Sync(context.Background(), upsert("k", 1))
		if !errors.Is(err, tt.kind) || synclayer.IsPermanent(err) != tt.permanent {
			t.Errorf("%d with a malformed fault: %v, want %v (permanent %v)", tt.status, err, tt.kind, tt.permanent)
		}
	}
}
