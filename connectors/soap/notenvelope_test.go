package soap_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/hmsplatform/synclayer/connectors/internal/conntest"
	"github.com/hmsplatform/synclayer/connectors/partner"
	"github.com/hmsplatform/synclayer/connectors/soap"
	"github.com/hmsplatform/synclayer/internal/httpx"
)

// TestSuccessStatusWithoutEnvelope answers a push with a 2xx status whose
// body is not a SOAP envelope, as a proxy or a captive portal in front of
// the partner does (an HTML sign-in page), or as a broken server does
// (nothing at all, JSON, some other XML). The partner confirmed nothing:
// the push must fail, retryably (the operations are upserts by key, see
// the package doc), with an error that says what came back, and the
// record must arrive on the next attempt. A 202 or 204 without a body is
// the answer of a one-way operation, and a success.
func TestSuccessStatusWithoutEnvelope(t *testing.T) {
	portal := "<!DOCTYPE html><html><head><title>Sign in to Hotel WiFi</title></head><body>" +
		strings.Repeat("<p>Accept the terms to continue.</p>", 400) + "</body></html>"
	tests := []struct {
		name   string
		status int
		ctype  string
		body   string
		want   []string // in the error text; nil: a success
	}{
		{"HTML portal page", 200, "text/html; charset=utf-8", portal, []string{`"text/html; charset=utf-8"`, "Sign in to Hotel WiFi"}},
		{"empty body at 200", 200, "text/xml; charset=utf-8", "", []string{`"text/xml; charset=utf-8"`, "empty body"}},
		{"empty body, no Content-Type", 200, "", "", []string{"no Content-Type", "empty body"}},
		{"JSON", 200, "application/json", `{"status":"ok"}`, []string{`"application/json"`, `{\"status\":\"ok\"}`}},
		{"XML that is not an envelope", 200, "text/xml", `<?xml version="1.0"?><ok/>`, []string{`"text/xml"`, "<ok/>"}},
		{"envelope of another namespace", 201, "text/xml", `<s:Envelope xmlns:s="urn:not-soap"><s:Body/></s:Envelope>`, []string{"urn:not-soap"}},
		{"one-way 202 without a body", 202, "", "", nil},
		{"204 without a body", 204, "", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPartner(t)
			answer := func(w http.ResponseWriter, r *http.Request, apply func() int) {
				if tt.want == nil {
					apply()
				}
				conntest.Status(tt.status, tt.body, "Content-Type", tt.ctype)(w, r, apply)
			}
			p.faults.Inject(answer)
			conn, err := soap.New(soap.Config{URL: p.srv.URL})
			conn = conntest.Open(t, conn, err)
			err = conn.Sync(t.Context(), upsert("WF-1", 1))
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Sync = %v, want success", err)
				}
				return
			}
			if !conntest.CheckClass(t, err, partner.ErrUnavailable, false) {
				return
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not name %q", err, w)
				}
			}
			var e *partner.Error
			if !errors.As(err, &e) || e.StatusCode != tt.status || len(e.Body) > httpx.MaxSnippet+len("…") {
				t.Errorf("error %#v: want a *partner.Error of status %d with a body of at most %d bytes", e, tt.status, httpx.MaxSnippet)
			}

			// Through the dispatcher, the next attempt reaches the
			// partner's service and the record arrives, once.
			p.faults.Inject(answer)
			conntest.DeliveredOnRetry(t, dispatcher(t, conn, nil), "WF-1")
			if got, _ := p.lookup(t.Context(), "WF-1"); len(got) != 1 || got[0] != 1 {
				t.Errorf("partner holds %v, want version 1", got)
			}
		})
	}
}

// TestCallWithoutOutAndNoEnvelope checks that Call, with nothing to
// decode, still refuses a 200 answer that is not an envelope.
func TestCallWithoutOutAndNoEnvelope(t *testing.T) {
	p := newPartner(t)
	p.faults.Inject(conntest.Status(200, "<html>proxy error</html>", "Content-Type", "text/html"))
	conn, err := soap.New(soap.Config{URL: p.srv.URL})
	conn = conntest.Open(t, conn, err)
	err = conn.Call(t.Context(), "urn:example:records/Upsert", &UpsertRecord{Key: "WF-1", Version: 1}, nil)
	if conntest.CheckClass(t, err, partner.ErrUnavailable, false) && !strings.Contains(err.Error(), "proxy error") {
		t.Errorf("error %q does not show the body", err)
	}
}
