package soap_test

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/hmsplatform/synclayer/connectors/internal/conntest"
	"github.com/hmsplatform/synclayer/connectors/soap"
	"github.com/hmsplatform/synclayer/synclayertest"
)

const ns = "urn:example:records"

// UpsertRecord is the partner's upsert operation.
type UpsertRecord struct {
	XMLName xml.Name `xml:"urn:example:records UpsertRecord"`
	Key     string   `xml:"Key"`
	Version int64    `xml:"Version"`
	Note    string   `xml:"Note,omitempty"`
}

// DeleteRecord is the partner's delete operation.
type DeleteRecord struct {
	XMLName xml.Name `xml:"urn:example:records DeleteRecord"`
	Key     string   `xml:"Key"`
}

// call is one request as the partner parsed it.
type call struct {
	Version     soap.Version
	ContentType string
	SOAPAction  []string
	Upsert      *UpsertRecord
	Delete      *DeleteRecord
	Username    string
	Password    string
	Raw         []byte
}

// fault answers one request instead of the service (see conntest.Fault).
type fault = conntest.Fault

// fakePartner is a SOAP records service on an httptest server.
type fakePartner struct {
	srv    *httptest.Server
	mu     sync.Mutex
	recs   map[string]UpsertRecord
	calls  []call
	faults conntest.Faults // answer the next requests in its place, one each
}

func newPartner(t testing.TB) *fakePartner { return newPartnerBehind(t, nil) }

// newPartnerBehind serves the partner through wrap (a chaos handler).
func newPartnerBehind(t testing.TB, wrap func(http.Handler) http.Handler) *fakePartner {
	p := &fakePartner{recs: map[string]UpsertRecord{}}
	p.srv = conntest.Serve(t, p, wrap)
	return p
}

// security is a WS-Security header as the tests read it back.
type security struct {
	Token struct {
		Username string `xml:"Username"`
		Password string `xml:"Password"`
	} `xml:"UsernameToken"`
}

// parse reads a request envelope with namespace-aware decoding.
func parse(raw []byte) (call, error) {
	var c call
	var env struct {
		XMLName xml.Name
		Header  struct {
			Security security `xml:"Security"`
		} `xml:"Header"`
		Body struct {
			Upsert *UpsertRecord
			Delete *DeleteRecord
		} `xml:"Body"`
	}
	if err := xml.Unmarshal(raw, &env); err != nil {
		return c, err
	}
	switch env.XMLName.Space {
	case soap.NamespaceSOAP11:
		c.Version = soap.SOAP11
	case soap.NamespaceSOAP12:
		c.Version = soap.SOAP12
	default:
		return c, fmt.Errorf("envelope namespace %q", env.XMLName.Space)
	}
	c.Upsert, c.Delete = env.Body.Upsert, env.Body.Delete
	c.Username, c.Password = env.Header.Security.Token.Username, env.Header.Security.Token.Password
	c.Raw = raw
	return c, nil
}

func (p *fakePartner) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	c, err := parse(raw)
	if err != nil {
		writeFault(w, soap.SOAP11, http.StatusInternalServerError, "Client", "cannot parse: "+err.Error())
		return
	}
	c.ContentType = r.Header.Get("Content-Type")
	c.SOAPAction = r.Header.Values("SOAPAction")
	p.mu.Lock()
	p.calls = append(p.calls, c)
	f := p.faults.Next()
	p.mu.Unlock()
	apply := func() int {
		p.mu.Lock()
		defer p.mu.Unlock()
		switch {
		case c.Upsert != nil:
			p.recs[c.Upsert.Key] = *c.Upsert
		case c.Delete != nil:
			delete(p.recs, c.Delete.Key)
		}
		return http.StatusOK
	}
	if f != nil {
		f(w, r, apply)
		return
	}
	if c.Upsert == nil && c.Delete == nil {
		writeFault(w, c.Version, http.StatusInternalServerError, "Client", "unknown operation")
		return
	}
	apply()
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	fmt.Fprintf(w, `<?xml version="1.0"?><s:Envelope xmlns:s="%s"><s:Body><OK xmlns="%s"/></s:Body></s:Envelope>`, nsOf(c.Version), ns)
}

func nsOf(v soap.Version) string {
	if v == soap.SOAP12 {
		return soap.NamespaceSOAP12
	}
	return soap.NamespaceSOAP11
}

// writeFault answers with a fault of the version's shape. code is the
// local name (Server, Client, Receiver, Sender, ...).
func writeFault(w http.ResponseWriter, v soap.Version, status int, code, reason string) {
	var b bytes.Buffer
	if v == soap.SOAP12 {
		fmt.Fprintf(&b, `<?xml version="1.0"?><env:Envelope xmlns:env="%s"><env:Body><env:Fault>`+
			`<env:Code><env:Value>env:%s</env:Value><env:Subcode><env:Value>m:Busy</env:Value></env:Subcode></env:Code>`+
			`<env:Reason><env:Text xml:lang="en">`, soap.NamespaceSOAP12, code)
		_ = xml.EscapeText(&b, []byte(reason))
		b.WriteString(`</env:Text></env:Reason><env:Detail><m:info xmlns:m="urn:m">d</m:info></env:Detail></env:Fault></env:Body></env:Envelope>`)
		w.Header().Set("Content-Type", "application/soap+xml; charset=utf-8")
	} else {
		fmt.Fprintf(&b, `<?xml version="1.0"?><soap:Envelope xmlns:soap="%s"><soap:Body><soap:Fault>`+
			`<faultcode>soap:%s</faultcode><faultstring>`, soap.NamespaceSOAP11, code)
		_ = xml.EscapeText(&b, []byte(reason))
		b.WriteString(`</faultstring><detail><e:code xmlns:e="urn:e">42</e:code></detail></soap:Fault></soap:Body></soap:Envelope>`)
		w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	}
	w.WriteHeader(status)
	_, _ = w.Write(b.Bytes())
}

func faultWith(v soap.Version, status int, code, reason string) fault {
	return func(w http.ResponseWriter, _ *http.Request, _ func() int) { writeFault(w, v, status, code, reason) }
}

var lostResponse, stall fault = conntest.LostResponse, conntest.Stall

func (p *fakePartner) failer(v soap.Version) func(synclayertest.Failure, int) bool {
	retryable := faultWith(v, 500, map[soap.Version]string{soap.SOAP11: "Server", soap.SOAP12: "Receiver"}[v], "database busy")
	permanent := faultWith(v, 500, map[soap.Version]string{soap.SOAP11: "Client", soap.SOAP12: "Sender"}[v], "bad record")
	return func(f synclayertest.Failure, times int) bool { return p.faults.Fail(f, times, retryable, permanent) }
}

func (p *fakePartner) lookup(_ context.Context, key string) ([]int64, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if r, ok := p.recs[key]; ok {
		return []int64{r.Version}, nil
	}
	return []int64{}, nil
}

func (p *fakePartner) requests() []call {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]call(nil), p.calls...)
}
