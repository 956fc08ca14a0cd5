package rest_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"testing"

	"github.com/jarcoal/httpmock"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/connectors/internal/conntest"
	"github.com/hmsplatform/synclayer/connectors/partner"
	"github.com/hmsplatform/synclayer/connectors/rest"
)

// mockConn returns a connector whose client talks to an httpmock transport.
func mockConn(t *testing.T, cfg rest.Config) (*rest.Connector, *httpmock.MockTransport) {
	t.Helper()
	if cfg.BaseURL == "" {
		cfg.BaseURL = "https://records.example.test/api"
	}
	return conntest.Mock(t, func(c *http.Client) (*rest.Connector, error) {
		cfg.Client = c
		return rest.New(cfg)
	})
}

func rec(key string, version int64) synclayer.Record {
	return synclayer.Record{
		Key: key, Version: version,
		Payload: payload{Key: key, Version: version, Note: "ok"},
		Event:   synclayer.Event{ID: "evt-1", Type: "WorkflowDeployed"},
	}
}

func TestContractUpsert(t *testing.T) {
	conn, mt := mockConn(t, rest.Config{Name: "records", Header: http.Header{"X-Tenant": {"hms"}}})
	sent := conntest.Capture(mt, http.MethodPut, "https://records.example.test/api/records/WF-1", http.StatusCreated, `{"id":"WF-1"}`)
	r := rec("WF-1", 3)
	if err := conn.Sync(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	if sent.Request == nil {
		t.Fatal("no request")
	}
	wantHeaders := map[string]string{
		"Content-Type":    "application/json",
		"Accept":          "application/json",
		"X-Tenant":        "hms",
		"Idempotency-Key": conn.IdempotencyKey(r),
	}
	for k, v := range wantHeaders {
		if g := sent.Request.Header.Get(k); g != v {
			t.Errorf("header %s = %q, want %q", k, g, v)
		}
	}
	if want := `{"key":"WF-1","version":3,"note":"ok"}`; string(sent.Body) != want {
		t.Errorf("body %s, want %s", sent.Body, want)
	}
	if n := mt.GetTotalCallCount(); n != 1 {
		t.Errorf("%d calls, want 1", n)
	}
}

func TestIdempotencyKey(t *testing.T) {
	conn, _ := mockConn(t, rest.Config{Name: "records"})
	other, _ := mockConn(t, rest.Config{Name: "archive"})
	base := rec("WF-1", 3)
	k := conn.IdempotencyKey(base)
	if k != conn.IdempotencyKey(base) {
		t.Fatal("not stable")
	}
	redelivered := base
	redelivered.Event.ID = "evt-2" // a versioned change keeps its key across events
	if conn.IdempotencyKey(redelivered) != k {
		t.Error("versioned key depends on the event")
	}
	differ := map[string]synclayer.Record{
		"version": rec("WF-1", 4),
		"key":     rec("WF-2", 3),
		"delete":  {Key: "WF-1", Version: 3, Delete: true},
	}
	for what, r := range differ {
		if conn.IdempotencyKey(r) == k {
			t.Errorf("same key for another %s", what)
		}
	}
	if other.IdempotencyKey(base) == k {
		t.Error("same key for another connector")
	}
	u1, u2 := rec("WF-1", 0), rec("WF-1", 0)
	u2.Event.ID = "evt-2"
	if conn.IdempotencyKey(u1) == conn.IdempotencyKey(u2) {
		t.Error("unversioned records of two events share a key")
	}
}

func TestContractTemplateAndMethod(t *testing.T) {
	conn, mt := mockConn(t, rest.Config{Path: "/v1/items/{key}/data?upsert=true", Method: http.MethodPatch})
	var gotURL string
	mt.RegisterNoResponder(func(r *http.Request) (*http.Response, error) {
		gotURL = r.Method + " " + r.URL.String()
		return httpmock.NewStringResponse(http.StatusNoContent, ""), nil
	})
	if err := conn.Sync(context.Background(), rec("a/b c", 1)); err != nil {
		t.Fatal(err)
	}
	if want := "PATCH https://records.example.test/api/v1/items/a%2Fb%20c/data?upsert=true"; gotURL != want {
		t.Errorf("request %q, want %q", gotURL, want)
	}
}

func TestContractDelete(t *testing.T) {
	for _, code := range []int{200, 202, 204, 404, 410} {
		t.Run(http.StatusText(code), func(t *testing.T) {
			conn, mt := mockConn(t, rest.Config{})
			sent := conntest.Capture(mt, http.MethodDelete, "https://records.example.test/api/records/WF-1", code, "")
			r := synclayer.Record{Key: "WF-1", Version: 2, Delete: true}
			if err := conn.Sync(context.Background(), r); err != nil {
				t.Fatalf("delete answered %d: %v", code, err)
			}
			if len(sent.Body) != 0 || sent.Request.Header.Get("Content-Type") != "" {
				t.Errorf("delete sent a body %q / content type %q", sent.Body, sent.Request.Header.Get("Content-Type"))
			}
			if sent.Request.Header.Get("Idempotency-Key") != conn.IdempotencyKey(r) {
				t.Error("delete lacks its Idempotency-Key")
			}
		})
	}
	conn, mt := mockConn(t, rest.Config{})
	mt.RegisterResponder(http.MethodDelete, "https://records.example.test/api/records/WF-1", httpmock.NewStringResponder(503, "busy"))
	err := conn.Sync(context.Background(), synclayer.Record{Key: "WF-1", Delete: true})
	if !errors.Is(err, partner.ErrUnavailable) || synclayer.IsPermanent(err) {
		t.Errorf("delete answered 503: %v, want retryable ErrUnavailable", err)
	}
}

func TestContractResponseClasses(t *testing.T) {
	tests := []struct {
		code      int
		kind      error // nil: success
		permanent bool
	}{
		{200, nil, false}, {201, nil, false}, {202, nil, false}, {204, nil, false},
		{408, partner.ErrUnavailable, false}, {425, partner.ErrUnavailable, false},
		{429, partner.ErrRateLimited, false}, {500, partner.ErrUnavailable, false},
		{502, partner.ErrUnavailable, false}, {503, partner.ErrUnavailable, false},
		{504, partner.ErrUnavailable, false},
		{400, partner.ErrRejected, true}, {401, partner.ErrUnauthorized, true},
		{403, partner.ErrUnauthorized, true}, {404, partner.ErrNotFound, true},
		{409, partner.ErrConflict, true}, {412, partner.ErrConflict, true},
		{422, partner.ErrRejected, true}, {501, partner.ErrRejected, true},
	}
	for _, tt := range tests {
		t.Run(http.StatusText(tt.code), func(t *testing.T) {
			conn, mt := mockConn(t, rest.Config{})
			mt.RegisterResponder(http.MethodPut, "https://records.example.test/api/records/WF-1",
				httpmock.NewStringResponder(tt.code, `{"message":"partner detail"}`))
			err := conn.Sync(context.Background(), rec("WF-1", 1))
			if !conntest.CheckClass(t, err, tt.kind, tt.permanent) {
				return
			}
			var he *partner.Error
			if !errors.As(err, &he) || he.StatusCode != tt.code || he.Body != `{"message":"partner detail"}` || he.Method != "PUT" {
				t.Errorf("details: %+v", he)
			}
		})
	}
	t.Run("ConnectionFailure", func(t *testing.T) {
		conn, mt := mockConn(t, rest.Config{})
		mt.RegisterResponder(http.MethodPut, "https://records.example.test/api/records/WF-1", httpmock.ConnectionFailure)
		err := conn.Sync(context.Background(), rec("WF-1", 1))
		if !errors.Is(err, partner.ErrNetwork) || synclayer.IsPermanent(err) {
			t.Errorf("got %v, want retryable ErrNetwork", err)
		}
	})
}

func TestContractBodyIsJSON(t *testing.T) {
	conn, mt := mockConn(t, rest.Config{})
	var bodies []string
	mt.RegisterNoResponder(func(r *http.Request) (*http.Response, error) {
		b, _ := io.ReadAll(r.Body)
		bodies = append(bodies, string(b))
		return httpmock.NewStringResponse(200, ""), nil
	})
	raw := json.RawMessage(`{"raw": [1, 2]}`)
	for _, p := range []any{raw, []byte(`{"bytes":true}`), map[string]any{"m": "<&>"}, "a string"} {
		r := rec("k", 1)
		r.Payload = p
		if err := conn.Sync(context.Background(), r); err != nil {
			t.Fatalf("payload %T: %v", p, err)
		}
	}
	want := []string{`{"raw": [1, 2]}`, `{"bytes":true}`, `{"m":"\u003c\u0026\u003e"}`, `"a string"`}
	for i := range want {
		if bodies[i] != want[i] {
			t.Errorf("body %d = %s, want %s", i, bodies[i], want[i])
		}
	}
}
