package guarantee

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	calendar "google.golang.org/api/calendar/v3"
	"google.golang.org/api/option"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/connectors/arcgis"
	"github.com/hmsplatform/synclayer/connectors/caldav"
	"github.com/hmsplatform/synclayer/connectors/googlecalendar"
	"github.com/hmsplatform/synclayer/connectors/rest"
	"github.com/hmsplatform/synclayer/connectors/soap"
	"github.com/hmsplatform/synclayer/connectors/webhook"
	"github.com/hmsplatform/synclayer/internal/httpx"
	"github.com/hmsplatform/synclayer/synclayertest"
)

// planted is one secret the test hands to a connector, and where.
type planted struct {
	where string
	value string
	basic string // "user:password" when the secret travels as Basic auth
}

// The planted secrets: short (1 to 3 bytes) and full of characters that
// XML, JSON and URLs escape, so that a redaction that matches only the
// literal text, or only long values, shows. Each is distinct, and none
// occurs in what the run prints when nothing leaks.
var plantedSecrets = []planted{
	{where: "rest: URL userinfo password", value: "^", basic: "svc:^"},
	{where: "rest: access_token in the URL", value: "z|y"},
	{where: "rest: Authorization added by the caller's transport", value: `r"\`},
	{where: "rest: Cookie added by the caller's transport", value: "c<>"},
	{where: "rest: X-Api-Key of Config.Header", value: "k&"},
	{where: "webhook: secret path of the URL", value: "W!t"},
	{where: "webhook: signing secret", value: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"},
	{where: "webhook: X-Auth-Token added by the caller's transport", value: "x'1"},
	{where: "soap: UsernameToken password", value: `&<"`},
	{where: "soap: Basic auth added by the caller's transport", value: "'>", basic: "soapuser:'>"},
	{where: "arcgis: Config.Token", value: "=%+"},
	{where: "googlecalendar: Authorization added by the caller's transport", value: "G<&"},
	{where: "caldav: Basic auth added by the caller's transport", value: "`", basic: "cal:`"},
	{where: "caldav/arcgis config: token in an unparsable URL", value: "u;v"},
}

// encodings returns the forms a secret may take in a text: raw,
// XML-escaped (both entity styles), JSON-escaped (with and without HTML
// escaping), URL-escaped (query and path), and base64 of Basic
// credentials.
func (p planted) encodings() map[string]string {
	v := p.value
	out := map[string]string{"raw": v}
	var x bytes.Buffer
	_ = xml.EscapeText(&x, []byte(v))
	out["xml"] = x.String()
	out["html"] = html.EscapeString(v)
	out["xml-named"] = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&apos;").Replace(v)
	j, _ := json.Marshal(v)
	out["json"] = strings.Trim(string(j), `"`)
	var jb bytes.Buffer
	enc := json.NewEncoder(&jb)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
	out["json-plain"] = strings.Trim(strings.TrimSpace(jb.String()), `"`)
	out["query"] = url.QueryEscape(v)
	out["path"] = url.PathEscape(v)
	if p.basic != "" {
		out["basic"] = base64.StdEncoding.EncodeToString([]byte(p.basic))
	}
	return out
}

// headerTransport adds headers to every request, as a caller's auth
// transport does (on a clone, leaving the connector's request alone).
type headerTransport struct {
	next http.RoundTripper
	add  http.Header
	user string // Basic auth user and password, if set
	pass string
}

func (t *headerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	for k, v := range t.add {
		r.Header[k] = v
	}
	if t.user != "" {
		r.SetBasicAuth(t.user, t.pass)
	}
	return t.next.RoundTrip(r)
}

// echo renders everything a request carried, in several encodings, as a
// careless partner does in its error messages.
func echo(r *http.Request, body []byte) string {
	var b strings.Builder
	fmt.Fprintf(&b, "you sent %s %s (host %s)\n", r.Method, r.URL.String(), r.Host)
	for k, vs := range r.Header {
		for _, v := range vs {
			fmt.Fprintf(&b, "%s: %s\n", k, v)
		}
	}
	if u, p, ok := r.BasicAuth(); ok {
		fmt.Fprintf(&b, "wrong password %s for %s\n", p, u)
	}
	for _, c := range r.Cookies() {
		fmt.Fprintf(&b, "cookie %s is %s\n", c.Name, c.Value)
	}
	hj, _ := json.Marshal(r.Header)
	fmt.Fprintf(&b, "headers %s\n", hj)
	fmt.Fprintf(&b, "escaped %s\n", url.QueryEscape(r.Header.Get("Authorization")))
	fmt.Fprintf(&b, "body %s", body)
	return b.String()
}

// echoing fails the requests of poisoned records for good (permanent
// status), and every third other request once (retryable status), each
// time echoing the request; anything else goes to h. fail writes the
// failure in the partner's own format.
type echoing struct {
	h    http.Handler
	fail func(w http.ResponseWriter, r *http.Request, permanent bool, msg string)
	mu   sync.Mutex
	n    int
}

func (e *echoing) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	poisoned := bytes.Contains(body, []byte("poison")) || strings.Contains(r.URL.String(), "poison")
	e.mu.Lock()
	e.n++
	transient := e.n%3 == 0
	e.mu.Unlock()
	if poisoned || transient {
		e.fail(w, r, poisoned, echo(r, body))
		return
	}
	e.h.ServeHTTP(w, r)
}

// soapPartner answers every call with an empty response envelope.
func soapPartner(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	_, _ = io.WriteString(w, `<?xml version="1.0"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><UpsertResponse xmlns="urn:example:records"/></soap:Body></soap:Envelope>`)
}

// soapFault is a SOAP 1.1 fault echoing the request: its text in the
// faultstring and the envelope, escaped, in the detail.
func soapFault(w http.ResponseWriter, _ *http.Request, permanent bool, msg string) {
	code := "soap:Server"
	if permanent {
		code = "soap:Client"
	}
	var esc bytes.Buffer
	_ = xml.EscapeText(&esc, []byte(msg))
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.WriteHeader(http.StatusInternalServerError)
	fmt.Fprintf(w, `<?xml version="1.0"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><soap:Fault>`+
		`<faultcode>%s</faultcode><faultstring>%s</faultstring><detail><echo>%s</echo></detail></soap:Fault></soap:Body></soap:Envelope>`,
		code, esc.String(), esc.String())
}

// plainFail answers 400 (permanent) or 503 with the echo as text.
func plainFail(w http.ResponseWriter, _ *http.Request, permanent bool, msg string) {
	code := http.StatusServiceUnavailable
	if permanent {
		code = http.StatusBadRequest
	}
	w.WriteHeader(code)
	_, _ = io.WriteString(w, msg)
}

// arcgisFail answers an ArcGIS error object inside a 200.
func arcgisFail(w http.ResponseWriter, _ *http.Request, permanent bool, msg string) {
	code := 503
	if permanent {
		code = 400
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"code": code, "message": msg, "details": []string{msg}}})
}

// calendarFail answers a Google API error echoing the request.
func calendarFail(w http.ResponseWriter, _ *http.Request, permanent bool, msg string) {
	code, reason := http.StatusServiceUnavailable, "backendError"
	if permanent {
		code, reason = http.StatusBadRequest, "invalid"
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{
		"code": code, "message": msg,
		"errors": []map[string]string{{"domain": "global", "reason": reason, "message": msg}},
	}})
}

// caldavPartner is a calendar collection that holds nothing yet: GET
// finds nothing, PUT creates.
func caldavPartner(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
		http.Error(w, "not found", http.StatusNotFound)
	case http.MethodPut:
		w.Header().Set("ETag", `"1"`)
		w.WriteHeader(http.StatusCreated)
	default:
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}

// textSink collects every text the run produces: log lines, errors (with
// everything reachable from them by Unwrap) and announcements.
type textSink struct {
	mu    sync.Mutex
	texts []string
}

func (s *textSink) add(where, text string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.texts = append(s.texts, where+": "+text)
}

// addErr adds err's text and that of each error reachable from it by
// Unwrap, with the fields of each (what errors.As hands a caller).
func (s *textSink) addErr(where string, err error) {
	seen := 0
	for e := range httpx.Chain(err) {
		if seen > 100 {
			return
		}
		seen++
		s.add(where, fmt.Sprintf("%T: %s", e, e.Error()))
		if v := reflect.ValueOf(e); v.Kind() == reflect.Pointer && !v.IsNil() && v.Elem().Kind() == reflect.Struct {
			s.add(where, fmt.Sprintf("%T fields: %+v", e, v.Elem().Interface()))
		}
	}
}

func (s *textSink) all() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Join(s.texts, "\n")
}

// Write is the slog handler's output.
func (s *textSink) Write(p []byte) (int, error) {
	s.add("log", string(p))
	return len(p), nil
}

// errObserver adds every attempt's and result's error to the sink.
type errObserver struct{ sink *textSink }

func (o errObserver) ObserveAttempt(_ context.Context, a synclayer.Attempt) {
	if a.Err != nil {
		o.sink.addErr("attempt "+a.Connector, a.Err)
	}
}

func (o errObserver) ObserveResult(_ context.Context, _ synclayer.Event, r synclayer.Result) {
	if r.Err != nil {
		o.sink.addErr("result "+r.Connector, r.Err)
	}
}

// announcePublisher keeps the announcements the dispatcher publishes.
type announcePublisher struct{ sink *textSink }

func (p announcePublisher) Publish(_ context.Context, ev synclayer.Event) error {
	p.sink.add("announcement "+ev.Type, string(ev.Data))
	return nil
}

// secretsPartner serves h behind a ChaosServer (resets, lost responses,
// truncated bodies, 5xx) on a loopback port.
func secretsPartner(t *testing.T, h http.Handler, seed uint64) *httptest.Server {
	t.Helper()
	cs := synclayertest.NewChaosServer(h, synclayertest.Chaos{
		Seed: seed, ServerError: 0.1, ResetBefore: 0.05, LostResponse: 0.05, TruncatedBody: 0.05,
		RetryAfter: time.Millisecond,
	})
	srv := httptest.NewServer(cs)
	t.Cleanup(srv.Close)
	t.Cleanup(cs.Close)
	return srv
}

// TestNoPlantedSecretLeaks runs every HTTP connector against partners that
// echo each request (headers, URL, credentials, body) in their error
// messages, behind injected network faults, with secrets planted in every
// place a caller puts them: URL userinfo and query, Config headers and
// passwords, and headers and Basic credentials that the caller's own
// transport adds (which the connector never sees). It collects every error
// (and all that Unwrap reaches from it), every log line of the
// dispatcher's LogObserver at Debug, every announcement and the errors of
// connector constructors given unparsable URLs, and looks in all of it for
// each secret in every encoding.
func TestNoPlantedSecretLeaks(t *testing.T) {
	sink := &textSink{}
	secret := func(where string) string {
		for _, p := range plantedSecrets {
			if p.where == where {
				return p.value
			}
		}
		t.Fatalf("no planted secret %q", where)
		return ""
	}
	base := &http.Transport{MaxIdleConnsPerHost: 16}
	t.Cleanup(base.CloseIdleConnections)
	client := func(ht *headerTransport) *http.Client {
		ht.next = base
		return &http.Client{Transport: ht, Timeout: 5 * time.Second}
	}

	// rest: userinfo, query token, Config header, transport-added
	// Authorization and Cookie; and a second one aimed at a closed port.
	restSrv := secretsPartner(t, &echoing{h: newRESTPartner(), fail: plainFail}, 1)
	restURL, _ := url.Parse(restSrv.URL)
	restURL.User = url.UserPassword("svc", secret("rest: URL userinfo password"))
	restClient := client(&headerTransport{add: http.Header{
		"Authorization": {"Bearer " + secret("rest: Authorization added by the caller's transport")},
		"Cookie":        {"sid=" + secret("rest: Cookie added by the caller's transport")},
	}})
	restPath := "/records/{key}?access_token=" + url.QueryEscape(secret("rest: access_token in the URL"))
	restConn, err := rest.New(rest.Config{BaseURL: restURL.String(), Path: restPath, Client: restClient,
		Header: http.Header{"X-Api-Key": {secret("rest: X-Api-Key of Config.Header")}}})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := *restURL
	closed.Host = ln.Addr().String()
	ln.Close()
	refusedConn, err := rest.New(rest.Config{BaseURL: closed.String(), Path: restPath, Client: restClient})
	if err != nil {
		t.Fatal(err)
	}

	// webhook: secret path, signing secret, transport-added token.
	hookSrv := secretsPartner(t, &echoing{h: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }), fail: plainFail}, 2)
	hookConn, err := webhook.New(webhook.Config{URL: hookSrv.URL + "/hooks/" + secret("webhook: secret path of the URL"),
		Secrets: []string{secret("webhook: signing secret")},
		Client:  client(&headerTransport{add: http.Header{"X-Auth-Token": {secret("webhook: X-Auth-Token added by the caller's transport")}}})})
	if err != nil {
		t.Fatal(err)
	}

	// soap: UsernameToken password in text, transport-added Basic auth; the
	// faults echo the envelope.
	soapSrv := secretsPartner(t, &echoing{h: http.HandlerFunc(soapPartner), fail: soapFault}, 3)
	soapConn, err := soap.New(soap.Config{URL: soapSrv.URL + "/RecordService", Action: "urn:example:records/Upsert",
		Security: &soap.UsernameToken{Username: "soapuser", Password: secret("soap: UsernameToken password")},
		Client:   client(&headerTransport{user: "soapuser", pass: secret("soap: Basic auth added by the caller's transport")})})
	if err != nil {
		t.Fatal(err)
	}

	// arcgis: the token.
	arcSrv := secretsPartner(t, &echoing{h: newArcGISPartner(), fail: arcgisFail}, 4)
	arcConn, err := arcgis.New(arcgis.Config{LayerURL: arcSrv.URL + layerPath, KeyField: "KEY", VersionField: "VERSION",
		Token: secret("arcgis: Config.Token"), HTTPClient: client(&headerTransport{})})
	if err != nil {
		t.Fatal(err)
	}

	// googlecalendar: transport-added Authorization.
	calSrv := secretsPartner(t, &echoing{h: newCalendarPartner(), fail: calendarFail}, 5)
	svc, err := calendar.NewService(t.Context(), option.WithEndpoint(calSrv.URL+"/"), option.WithHTTPClient(client(&headerTransport{add: http.Header{
		"Authorization": {"Bearer " + secret("googlecalendar: Authorization added by the caller's transport")},
	}})))
	if err != nil {
		t.Fatal(err)
	}
	calConn, err := googlecalendar.New(googlecalendar.Config{Service: svc, CalendarID: "secrets@example.com"})
	if err != nil {
		t.Fatal(err)
	}

	// caldav: transport-added Basic auth.
	davSrv := secretsPartner(t, &echoing{h: http.HandlerFunc(caldavPartner), fail: plainFail}, 6)
	davConn, err := caldav.New(caldav.Config{CollectionURL: davSrv.URL + "/cal/work/",
		HTTPClient: client(&headerTransport{user: "cal", pass: secret("caldav: Basic auth added by the caller's transport")})})
	if err != nil {
		t.Fatal(err)
	}

	// Constructors given an unparsable URL with userinfo and a token.
	bad := "http://u:" + secret("caldav/arcgis config: token in an unparsable URL") + "@host/%zz/FeatureServer/0?token=" + secret("caldav/arcgis config: token in an unparsable URL")
	if _, err := caldav.New(caldav.Config{CollectionURL: bad}); err != nil {
		sink.addErr("caldav.New", err)
	} else {
		t.Error("caldav.New accepted an unparsable URL")
	}
	if _, err := arcgis.New(arcgis.Config{LayerURL: bad, KeyField: "KEY"}); err != nil {
		sink.addErr("arcgis.New", err)
	} else {
		t.Error("arcgis.New accepted an unparsable URL")
	}

	type payloadFn func(key string) any
	type xmlRecord struct {
		XMLName xml.Name `xml:"urn:example:records UpsertRecord"`
		Key     string   `xml:"Key"`
	}
	start := time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)
	reg := new(synclayer.Registry)
	policy := synclayer.RetryPolicy{MaxAttempts: 4, InitialInterval: time.Millisecond, MaxInterval: 2 * time.Millisecond}
	for _, c := range []struct {
		name    string
		conn    synclayer.Connector
		payload payloadFn
	}{
		{"records", restConn, func(k string) any { return item{Key: k, Version: 1, Title: k} }},
		{"refused", refusedConn, func(k string) any { return item{Key: k, Version: 1, Title: k} }},
		{"hook", hookConn, func(k string) any { return map[string]string{"key": k} }},
		{"soap", soapConn, func(k string) any { return xmlRecord{Key: k} }},
		{"gis", arcConn, func(k string) any { return arcgis.Feature{Attributes: map[string]any{"TITLE": k}} }},
		{"calendar", calConn, func(k string) any {
			return &calendar.Event{Summary: k, Start: &calendar.EventDateTime{Date: "2026-03-10"}, End: &calendar.EventDateTime{Date: "2026-03-11"}}
		}},
		{"dav", davConn, func(k string) any { return caldav.Event{Summary: k, Start: start} }},
	} {
		payload := c.payload
		mapper := synclayer.MapperFunc(func(_ context.Context, ev synclayer.Event) (synclayer.Record, error) {
			return synclayer.Record{Key: ev.Subject, Version: 1, Payload: payload(ev.Subject)}, nil
		})
		if err := reg.Register(c.name, c.conn, synclayer.Route("SecretPush", mapper), synclayer.WithRetry(policy), synclayer.WithTimeout(2*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	logger := slog.New(slog.NewJSONHandler(sink, &slog.HandlerOptions{Level: slog.LevelDebug}))
	d := synclayertest.NewDispatcher(t, reg, synclayer.WithPublisher(announcePublisher{sink}),
		synclayer.WithObserver(synclayer.LogObserver(logger), errObserver{sink}))

	var wg sync.WaitGroup
	for i := range 24 {
		key := fmt.Sprintf("rec-%02d", i)
		if i%4 == 0 {
			key = fmt.Sprintf("poison-%02d", i)
		}
		wg.Go(func() {
			_, err := d.Dispatch(t.Context(), synclayer.Event{ID: "evt-" + key, Type: "SecretPush", Subject: key})
			if err != nil {
				sink.addErr("dispatch", err)
			}
		})
	}
	wg.Wait()
	for _, c := range []interface{ Close() error }{restConn, refusedConn, hookConn, soapConn} {
		_ = c.Close()
	}

	all := sink.all()
	// The run did what it should: failures of every kind, echoed.
	for _, want := range []string{"400", "503", "refused", "soap: fault", "you sent", "SyncFailed", "error 400"} {
		if !strings.Contains(all, want) {
			t.Errorf("the run shows no %q: the failures did not happen as planned", want)
		}
	}
	leaks := 0
	for _, p := range plantedSecrets {
		for enc, v := range p.encodings() {
			if i := strings.Index(all, v); i >= 0 {
				leaks++
				if leaks <= 30 {
					lo, hi := max(0, i-160), min(len(all), i+len(v)+40)
					t.Errorf("%s leaks (%s form %q) in: …%s…", p.where, enc, v, all[lo:hi])
				}
			}
		}
	}
	if leaks > 30 {
		t.Errorf("%d leaks in all", leaks)
	}
	if t.Failed() && testing.Verbose() {
		t.Logf("collected %d bytes of text", len(all))
	}
}
