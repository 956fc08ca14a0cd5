package httpx

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hmsplatform/synclayer/connectors/partner"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/synclayertest"
)

func TestCheckStatuses(t *testing.T) {
	tests := []struct {
		code      int
		kind      error
		permanent bool
	}{
		{200, nil, false},
		{201, nil, false},
		{204, nil, false},
		{408, partner.ErrUnavailable, false},
		{425, partner.ErrUnavailable, false},
		{429, partner.ErrRateLimited, false},
		{500, partner.ErrUnavailable, false},
		{502, partner.ErrUnavailable, false},
		{503, partner.ErrUnavailable, false},
		{504, partner.ErrUnavailable, false},
		{507, partner.ErrUnavailable, false},
		{520, partner.ErrUnavailable, false},
		{521, partner.ErrUnavailable, false},
		{522, partner.ErrUnavailable, false},
		{523, partner.ErrUnavailable, false},
		{524, partner.ErrUnavailable, false},
		{400, partner.ErrRejected, true},
		{401, partner.ErrUnauthorized, true},
		{403, partner.ErrUnauthorized, true},
		{404, partner.ErrNotFound, true},
		{409, partner.ErrConflict, true},
		{410, partner.ErrNotFound, true},
		{412, partner.ErrConflict, true},
		{422, partner.ErrRejected, true},
		{501, partner.ErrRejected, true},
		{519, partner.ErrRejected, true},
		{525, partner.ErrRejected, true},
		{304, partner.ErrRejected, true},
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var code int
		_, _ = io.WriteString(io.Discard, r.URL.Path)
		for _, c := range r.URL.Path[1:] {
			code = code*10 + int(c-'0')
		}
		w.WriteHeader(code)
		if code != 304 && code != 204 {
			_, _ = io.WriteString(w, "partner says no")
		}
	}))
	defer srv.Close()
	c := &Classifier{Prefix: "test"}
	for _, tt := range tests {
		t.Run(itoa(tt.code), func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPut, srv.URL+"/"+itoa(tt.code), strings.NewReader("{}"))
			resp, err := srv.Client().Do(req)
			got := c.Check(req, resp, err)
			if tt.kind == nil {
				if got != nil {
					t.Fatalf("Check = %v, want nil", got)
				}
				Discard(resp)
				return
			}
			if !errors.Is(got, tt.kind) {
				t.Fatalf("Check = %v, want category %v", got, tt.kind)
			}
			if synclayer.IsPermanent(got) != tt.permanent {
				t.Errorf("IsPermanent = %v, want %v", synclayer.IsPermanent(got), tt.permanent)
			}
			var e *partner.Error
			if !errors.As(got, &e) {
				t.Fatalf("no *partner.Error in %v", got)
			}
			if e.StatusCode != tt.code || e.Method != "PUT" {
				t.Errorf("Error = %+v", e)
			}
			wantPrefix := "test: PUT " + srv.URL + "/" + itoa(tt.code) + ": " + itoa(tt.code)
			if !strings.HasPrefix(got.Error(), wantPrefix) {
				t.Errorf("text %q, want prefix %q", got.Error(), wantPrefix)
			}
			if tt.code != 304 && !strings.Contains(got.Error(), `body: "partner says no"`) {
				t.Errorf("text %q lacks the body", got.Error())
			}
		})
	}
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"120", 2 * time.Minute, true},
		{" 0 ", 0, true},
		{"Tue, 10 Mar 2026 12:00:30 GMT", 30 * time.Second, true},   // IMF-fixdate
		{"Tuesday, 10-Mar-26 12:01:00 GMT", time.Minute, true},      // RFC 850
		{"Tue Mar 10 12:00:05 2026", 5 * time.Second, true},         // asctime
		{"Tue, 10 Mar 2026 11:00:00 GMT", 0, true},                  // past
		{"99999999999999999999999", time.Duration(1<<63 - 1), true}, // huge
		{"-5", 0, false},
		{"soon", 0, false},
		{"", 0, false},
	}
	for _, tt := range tests {
		got, ok := ParseRetryAfter(tt.in, now)
		if got != tt.want || ok != tt.ok {
			t.Errorf("ParseRetryAfter(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}

	// Both forms reach the dispatcher's hint.
	for _, h := range []string{"7", "Tue, 10 Mar 2026 12:00:07 GMT"} {
		for _, code := range []int{429, 503} {
			resp := &http.Response{StatusCode: code, Status: itoa(code), Header: http.Header{"Retry-After": {h}}, Body: io.NopCloser(strings.NewReader(""))}
			req, _ := http.NewRequest("PUT", "http://partner.test/x", nil)
			c := &Classifier{Prefix: "test", Now: func() time.Time { return now }}
			err := c.Check(req, resp, nil)
			if d, ok := synclayertest.RetryAfterHint(err); !ok || d != 7*time.Second {
				t.Errorf("%d with Retry-After %q: hint %v %v, want 7s (%v)", code, h, d, ok, err)
			}
			if synclayer.IsPermanent(err) {
				t.Errorf("%d is permanent", code)
			}
		}
	}
}

func TestNetworkErrors(t *testing.T) {
	// A server that accepts and resets the connection.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_ = c.(*net.TCPConn).SetLinger(0)
			buf := make([]byte, 1024)
			_, _ = c.Read(buf)
			c.Close()
		}
	}()
	c := &Classifier{Prefix: "test"}
	req, _ := http.NewRequest("PUT", "http://"+ln.Addr().String()+"/r?token=s3cr3tvalue", strings.NewReader("{}"))
	resp, err := http.DefaultClient.Do(req)
	got := c.Check(req, resp, err)
	if !errors.Is(got, partner.ErrNetwork) || synclayer.IsPermanent(got) {
		t.Fatalf("reset: %v, want retryable partner.ErrNetwork", got)
	}
	if strings.Contains(got.Error(), "s3cr3tvalue") {
		t.Errorf("secret in %q", got.Error())
	}

	// A timeout keeps context.DeadlineExceeded visible.
	stall := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	}))
	defer stall.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	req, _ = http.NewRequestWithContext(ctx, "PUT", stall.URL, nil)
	resp, err = stall.Client().Do(req)
	got = c.Check(req, resp, err)
	if !errors.Is(got, partner.ErrNetwork) || !errors.Is(got, context.DeadlineExceeded) || synclayer.IsPermanent(got) {
		t.Fatalf("timeout: %v", got)
	}
}

func TestRedaction(t *testing.T) {
	const (
		bearer = "eyJhbGciOiJIUzI1NiJ9.secretpart"
		apiKey = "k-1234567890"
		pass   = "hunter2hunter2"
		sig    = "SIGVALUE0001"
		custom = "custom-secret-77"
		lit    = "whsec_literal_secret"
	)
	// The partner echoes everything back in its error body.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, "echo: "+r.Header.Get("Authorization")+" "+r.Header.Get("X-Api-Key")+" "+r.Header.Get("X-Custom")+" "+r.URL.String()+" "+lit+" Bearer othertoken123")
	}))
	defer srv.Close()
	c := &Classifier{Prefix: "test", SecretHeaders: []string{"X-Custom"}, Secrets: []string{lit}}
	u := strings.Replace(srv.URL, "http://", "http://user:"+pass+"@", 1) + "/r?api_key=" + apiKey + "&signature=" + sig + "&page=2"
	req, _ := http.NewRequest("GET", u, nil)
	req.Header.Set("Authorization", "Bearer "+bearer)
	req.Header.Set("X-Api-Key", apiKey)
	req.Header.Set("X-Custom", custom)
	resp, err := srv.Client().Do(req)
	got := c.Check(req, resp, err)
	if got == nil {
		t.Fatal("no error")
	}
	text := got.Error()
	for _, s := range []string{bearer, apiKey, pass, sig, custom, lit, "othertoken123", "secretpart"} {
		if strings.Contains(text, s) {
			t.Errorf("secret %q in %q", s, text)
		}
	}
	if !strings.Contains(text, "page=2") || !strings.Contains(text, "echo:") {
		t.Errorf("redacted too much: %q", text)
	}

	hide := &Classifier{Prefix: "test", HidePath: true}
	req, _ = http.NewRequest("POST", "http://127.0.0.1:1/services/T000/B000/XXXXSECRET", nil)
	resp, err = http.DefaultClient.Do(req)
	got = hide.Check(req, resp, err)
	if strings.Contains(got.Error(), "XXXXSECRET") {
		t.Errorf("path in %q", got.Error())
	}
}

func TestBodySnippetBounded(t *testing.T) {
	big := strings.Repeat("é", 10000)
	resp := &http.Response{StatusCode: 500, Status: "500 Internal Server Error", Body: io.NopCloser(strings.NewReader(big))}
	req, _ := http.NewRequest("PUT", "http://partner.test/x", nil)
	got := (&Classifier{}).Check(req, resp, nil)
	var e *partner.Error
	if !errors.As(got, &e) {
		t.Fatal(got)
	}
	if len(e.Body) > MaxSnippet+len("…") || !strings.HasSuffix(e.Body, "…") {
		t.Errorf("snippet of %d bytes", len(e.Body))
	}
}

func TestRedirectChangingMethodIsRejected(t *testing.T) {
	var gets atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/old" {
			http.Redirect(w, r, "/new", http.StatusFound)
			return
		}
		gets.Add(1)
	}))
	defer srv.Close()
	req, _ := http.NewRequest("PUT", srv.URL+"/old", strings.NewReader("{}"))
	resp, err := srv.Client().Do(req)
	got := (&Classifier{Prefix: "test"}).Check(req, resp, err)
	if !errors.Is(got, partner.ErrRejected) || !synclayer.IsPermanent(got) || !strings.Contains(got.Error(), "redirected to GET") {
		t.Fatalf("got %v", got)
	}
}

func TestDiscardReusesConnections(t *testing.T) {
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(503)
		_, _ = io.WriteString(w, strings.Repeat("x", 10000))
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	c := &Classifier{}
	for range 20 {
		req, _ := http.NewRequest("PUT", srv.URL, nil)
		resp, err := srv.Client().Do(req)
		if got := c.Check(req, resp, err); !errors.Is(got, partner.ErrUnavailable) {
			t.Fatal(got)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("%d connections for 20 sequential requests, want 1", n)
	}
}
