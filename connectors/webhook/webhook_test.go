package webhook_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/connectors/internal/conntest"
	"github.com/hmsplatform/synclayer/connectors/partner"
	"github.com/hmsplatform/synclayer/connectors/webhook"
)

var fixedNow = time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)

func mockConn(t *testing.T, cfg webhook.Config) (*webhook.Connector, *httpmock.MockTransport) {
	t.Helper()
	if cfg.URL == "" {
		cfg.URL = "https://hooks.example.test/in/T0/SECRETPATH"
	}
	if cfg.Secrets == nil {
		cfg.Secrets = []string{testSecret}
	}
	return conntest.Mock(t, func(c *http.Client) (*webhook.Connector, error) {
		// Like the client New builds: redirects are not followed.
		c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		cfg.Client = c
		return webhook.New(cfg)
	})
}

func record(key string, version int64) synclayer.Record {
	return synclayer.Record{
		Key: key, Version: version, Payload: payload{Version: version, Note: "<&>"},
		Event: synclayer.Event{ID: "evt-1", Type: "WorkflowDeployed", Time: fixedNow},
	}
}

func TestContractRequest(t *testing.T) {
	conn, mt := mockConn(t, webhook.Config{Now: func() time.Time { return fixedNow }, Header: http.Header{"X-Tenant": {"hms"}}})
	sent := conntest.Capture(mt, http.MethodPost, "https://hooks.example.test/in/T0/SECRETPATH", http.StatusNoContent, "")
	rec := record("WF-1", 3)
	if err := conn.Sync(context.Background(), rec); err != nil {
		t.Fatal(err)
	}
	want := `{"type":"WorkflowDeployed","timestamp":"2026-03-10T12:00:00Z","eventId":"evt-1","key":"WF-1","version":3,"data":{"version":3,"note":"\u003c\u0026\u003e"}}`
	if string(sent.Body) != want {
		t.Errorf("body\n%s\nwant\n%s", sent.Body, want)
	}
	if sent.Request.Header.Get("Content-Type") != "application/json" || sent.Request.Header.Get("X-Tenant") != "hms" {
		t.Errorf("headers %v", sent.Request.Header)
	}
	if id := sent.Request.Header.Get(webhook.HeaderID); id != conn.MessageID(rec) || !strings.HasPrefix(id, "msg_") {
		t.Errorf("webhook-id %q", id)
	}
	if ts := sent.Request.Header.Get(webhook.HeaderTimestamp); ts != "1773144000" {
		t.Errorf("webhook-timestamp %q", ts)
	}
	v := webhook.Verifier{Secrets: []string{testSecret}, Now: func() time.Time { return fixedNow }}
	if err := v.Verify(sent.Request.Header, sent.Body); err != nil {
		t.Errorf("own signature does not verify: %v", err)
	}
}

func TestContractRotationSignsWithEachSecret(t *testing.T) {
	const second = "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYX"
	conn, mt := mockConn(t, webhook.Config{Secrets: []string{testSecret, second}})
	var got http.Header
	var body []byte
	mt.RegisterNoResponder(func(r *http.Request) (*http.Response, error) {
		got, body = r.Header, mustRead(r)
		return httpmock.NewStringResponse(200, ""), nil
	})
	if err := conn.Sync(context.Background(), record("k", 1)); err != nil {
		t.Fatal(err)
	}
	if n := len(strings.Fields(got.Get(webhook.HeaderSignature))); n != 2 {
		t.Errorf("%d signatures, want 2", n)
	}
	for _, s := range []string{testSecret, second} {
		if err := webhook.Verify(s, got, body); err != nil {
			t.Errorf("receiver with one secret: %v", err)
		}
	}
}

func mustRead(r *http.Request) []byte { b, _ := io.ReadAll(r.Body); return b }

func TestContractDeleteAndEventData(t *testing.T) {
	conn, mt := mockConn(t, webhook.Config{})
	var msgs []webhook.Message
	mt.RegisterNoResponder(func(r *http.Request) (*http.Response, error) {
		var m webhook.Message
		if err := json.Unmarshal(mustRead(r), &m); err != nil {
			return nil, err
		}
		msgs = append(msgs, m)
		return httpmock.NewStringResponse(200, ""), nil
	})
	del := synclayer.Record{Key: "k", Version: 2, Delete: true, Payload: payload{}, Event: synclayer.Event{ID: "e2", Type: "Removed"}}
	raw := synclayer.Record{Key: "k", Event: synclayer.Event{ID: "e3", Type: "T", Data: json.RawMessage(`{"from":"event"}`)}}
	for _, r := range []synclayer.Record{del, raw} {
		if err := conn.Sync(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
	if !msgs[0].Deleted || msgs[0].Data != nil {
		t.Errorf("delete message %+v", msgs[0])
	}
	if string(msgs[1].Data) != `{"from":"event"}` {
		t.Errorf("nil payload sent %s, want the event's data", msgs[1].Data)
	}
}

func TestMessageID(t *testing.T) {
	conn, _ := mockConn(t, webhook.Config{Name: "hooks"})
	a := record("k", 1)
	b := a
	b.Event.ID = "evt-2"
	if conn.MessageID(a) != conn.MessageID(b) {
		t.Error("a redelivered versioned change got another id")
	}
	for what, r := range map[string]synclayer.Record{"version": record("k", 2), "key": record("j", 1), "delete": {Key: "k", Version: 1, Delete: true}} {
		if conn.MessageID(r) == conn.MessageID(a) {
			t.Errorf("same id for another %s", what)
		}
	}
}

func TestContractResponseClasses(t *testing.T) {
	tests := []struct {
		code      int
		kind      error
		permanent bool
	}{
		{200, nil, false}, {202, nil, false}, {204, nil, false},
		{301, partner.ErrRejected, true}, {302, partner.ErrRejected, true}, {307, partner.ErrRejected, true},
		{400, partner.ErrRejected, true}, {401, partner.ErrUnauthorized, true}, {410, partner.ErrNotFound, true},
		{408, partner.ErrUnavailable, false}, {429, partner.ErrRateLimited, false},
		{500, partner.ErrUnavailable, false}, {502, partner.ErrUnavailable, false}, {504, partner.ErrUnavailable, false},
	}
	for _, tt := range tests {
		t.Run(http.StatusText(tt.code), func(t *testing.T) {
			conn, mt := mockConn(t, webhook.Config{})
			mt.RegisterNoResponder(httpmock.NewStringResponder(tt.code, "receiver says").HeaderSet(http.Header{"Location": {"https://elsewhere.test/"}}))
			err := conn.Sync(context.Background(), record("k", 1))
			conntest.CheckClass(t, err, tt.kind, tt.permanent)
			if err == nil {
				return
			}
			if strings.Contains(err.Error(), "SECRETPATH") {
				t.Errorf("URL path in error: %v", err)
			}
			if mt.GetTotalCallCount() != 1 {
				t.Errorf("%d calls: a redirect was followed", mt.GetTotalCallCount())
			}
		})
	}
}

func TestBadPayloads(t *testing.T) {
	conn, mt := mockConn(t, webhook.Config{MaxPayloadBytes: 256})
	mt.RegisterNoResponder(httpmock.NewStringResponder(200, ""))
	for name, p := range map[string]any{
		"channel":   make(chan int),
		"NaN":       math.NaN(),
		"bad raw":   json.RawMessage(`{`),
		"bad bytes": []byte("nope"),
		"too large": strings.Repeat("x", 300),
	} {
		r := record("k", 1)
		r.Payload = p
		err := conn.Sync(context.Background(), r)
		if !errors.Is(err, partner.ErrPayload) || !synclayer.IsPermanent(err) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if mt.GetTotalCallCount() != 0 {
		t.Errorf("%d requests sent", mt.GetTotalCallCount())
	}
}

func TestConfigValidation(t *testing.T) {
	tests := []struct {
		name string
		cfg  webhook.Config
		want string // part of the error; "" means valid
	}{
		{"valid", webhook.Config{URL: "https://h.test/x", Secrets: []string{testSecret}}, ""},
		{"no prefix", webhook.Config{URL: "https://h.test/x", Secrets: []string{"MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}}, ""},
		{"missing URL", webhook.Config{Secrets: []string{testSecret}}, "URL is required"},
		{"relative URL", webhook.Config{URL: "/hooks/SECRETPATH", Secrets: []string{testSecret}}, "absolute"},
		{"no secret", webhook.Config{URL: "https://h.test/x"}, "at least one secret"},
		{"empty secret", webhook.Config{URL: "https://h.test/x", Secrets: []string{""}}, "invalid secret"},
		{"short secret", webhook.Config{URL: "https://h.test/x", Secrets: []string{"whsec_AAAA"}}, "invalid secret"},
		{"not base64", webhook.Config{URL: "https://h.test/x", Secrets: []string{"whsec_SECRETPATH!!"}}, "not base64"},
		{"webhook header", webhook.Config{URL: "https://h.test/x", Secrets: []string{testSecret}, Header: http.Header{"Webhook-Id": {"x"}}}, "set by the connector"},
		{"header CRLF", webhook.Config{URL: "https://h.test/x", Secrets: []string{testSecret}, Header: http.Header{"X-A": {"a\nb"}}}, "CR, LF"},
		{"negative concurrency", webhook.Config{URL: "https://h.test/x", Secrets: []string{testSecret}, Concurrency: -2}, "Concurrency(-2): must not be negative"},
		{"negative payload bound", webhook.Config{URL: "https://h.test/x", Secrets: []string{testSecret}, MaxPayloadBytes: -1}, "MaxPayloadBytes(-1)"},
	}
	newConn := func(cfg webhook.Config) (conntest.Closer, error) { return webhook.New(cfg) }
	for _, tt := range tests {
		conntest.CheckConfig(t, tt.name, "webhook: config: ", "SECRETPATH", newConn, tt.cfg, tt.want)
	}
}

// TestSecretEchoWithoutPrefix: a receiver that echoes the signing secret
// as its libraries hold it, without the whsec_ prefix, or the text key it
// decodes to, gets no secret into the error.
func TestSecretEchoWithoutPrefix(t *testing.T) {
	const textKey = "a passphrase of text, 32 bytes!!"
	bare := strings.TrimPrefix(testSecret, "whsec_")
	textBare := base64.StdEncoding.EncodeToString([]byte(textKey))
	for _, tt := range []struct{ secret, echo string }{
		{testSecret, bare},
		{"whsec_" + textBare, textBare},
		{"whsec_" + textBare, textKey},
	} {
		conn, mt := mockConn(t, webhook.Config{Secrets: []string{tt.secret}})
		mt.RegisterNoResponder(httpmock.NewStringResponder(http.StatusBadRequest, "signature mismatch; endpoint secret is "+tt.echo))
		err := conn.Sync(t.Context(), record("k", 1))
		if err == nil || !strings.Contains(err.Error(), "signature mismatch") {
			t.Fatalf("Sync = %v, want the receiver's refusal", err)
		}
		if strings.Contains(err.Error(), tt.echo) {
			t.Errorf("the secret, echoed as %q, is in the error: %v", tt.echo, err)
		}
	}
}

// TestSecretHeaderEcho: a receiver that echoes a header named in
// SecretHeaders gets its value into no error; an ordinary header is shown.
func TestSecretHeaderEcho(t *testing.T) {
	const tenant = "SECRET-TENANT-0001"
	conn, mt := mockConn(t, webhook.Config{
		Header:        http.Header{"X-Tenant": {tenant}, "X-Region": {"eu-north"}},
		SecretHeaders: []string{"X-Tenant"},
	})
	mt.RegisterNoResponder(func(r *http.Request) (*http.Response, error) {
		return httpmock.NewStringResponse(http.StatusBadRequest,
			"unknown tenant "+r.Header.Get("X-Tenant")+" in region "+r.Header.Get("X-Region")), nil
	})
	err := conn.Sync(t.Context(), record("k", 1))
	if err == nil || !strings.Contains(err.Error(), "unknown tenant") {
		t.Fatalf("Sync = %v, want the receiver's refusal", err)
	}
	if strings.Contains(err.Error(), tenant) {
		t.Errorf("the secret header's value is in the error: %v", err)
	}
	if !strings.Contains(err.Error(), "eu-north") {
		t.Errorf("the ordinary header's value was redacted too: %v", err)
	}
}
