package httpx

import (
	"net/http"
	"net/url"
	"testing"
)

func TestRedactText(t *testing.T) {
	r := (&Classifier{}).newRedactor(nil)
	tests := []struct{ in, want string }{
		{"GET /x?token=abc&page=2", "GET /x?token=REDACTED&page=2"},
		{"/x?api_key=abc&key=k1&code=c1&sig=s1", "/x?api_key=REDACTED&key=REDACTED&code=REDACTED&sig=REDACTED"},
		{"client_secret=abc; password=hunter2", "client_secret=REDACTED; password=REDACTED"},
		{"Authorization: Bearer eyJhbGci.x.y", "Authorization: Bearer REDACTED"},
		{"basic dXNlcjpwYXNz", "basic REDACTED"},
		{"duplicate key=WF-1 in an invalid token reply", "duplicate key=WF-1 in an invalid token reply"},
		{"monkey=banana", "monkey=banana"},
		{"Basic authentication failed, bearer tokens only.", "Basic authentication failed, bearer tokens only."},
		{"got Bearer+ya29.a0Af%3D and Basic dXNlcjpwdw==", "got Bearer+REDACTED and Basic REDACTED"},
		{`{"auth":"Bearer x\u003c1"}`, `{"auth":"REDACTED"}`},
	}
	for _, tt := range tests {
		if got := r.text(tt.in); got != tt.want {
			t.Errorf("text(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestBasicPaddingRedactsEquals: the "=" of a Basic credential's base64
// padding is no secret of its own (only cookie headers are split into
// name=value parts), nor is a cookie value of punctuation only; the
// credentials themselves are still scrubbed.
func TestBasicPaddingRedactsEquals(t *testing.T) {
	c := &Classifier{Prefix: "rest"}
	u, _ := url.Parse("https://r.example.com/records/k")
	req := &http.Request{Method: http.MethodPut, URL: u, Header: http.Header{
		"Authorization": {"Basic dXNlcjpwYXNzd29yZA=="}, // user:password
		"Cookie":        {"sid=s3ss10n-1d; pad=="},
	}}
	resp := &http.Response{StatusCode: 422, Status: "422 Unprocessable Entity", Request: req, Header: http.Header{}}
	const plain = `validation failed: field count must be >= 1, got count=0; a==b`
	e := c.New(req, resp, []byte(plain+"; echo dXNlcjpwYXNzd29yZA== password s3ss10n-1d"), nil, nil)
	want := plain + "; echo REDACTED REDACTED REDACTED"
	if e.Body != want {
		t.Errorf("body = %q, want %q", e.Body, want)
	}
}

// TestRedactPathSegments: with HidePath the whole path and the segments
// that look like tokens are scrubbed, but not the short words of the API
// ("api", "v1", "E"), which would scrub them from every text, nor, for a
// path of "/" alone, every slash.
func TestRedactPathSegments(t *testing.T) {
	c := &Classifier{Prefix: "webhook", HidePath: true}
	for _, tt := range []struct{ url, body, want string }{
		{"https://hooks.example.com/E/api/v1/T0SECRETXYZ",
			`{"error":"field data.name is required by api v1"} (you sent /E/api/v1/T0SECRETXYZ, token T0SECRETXYZ)`,
			`{"error":"field data.name is required by api v1"} (you sent REDACTED, token REDACTED)`},
		{"https://hooks.example.com/services/T00000000/B00000000/xxxxxxxxxxxxxxxxxxxxxxxx",
			"no hook xxxxxxxxxxxxxxxxxxxxxxxx in team T00000000 for services",
			"no hook REDACTED in team REDACTED for services"},
		{"https://hooks.example.com/", "a/b is not c/d", "a/b is not c/d"},
	} {
		u, _ := url.Parse(tt.url)
		req := &http.Request{Method: http.MethodPost, URL: u, Header: http.Header{}}
		resp := &http.Response{StatusCode: 400, Status: "400 Bad Request", Request: req, Header: http.Header{}}
		e := c.New(req, resp, []byte(tt.body), nil, nil)
		if e.Body != tt.want {
			t.Errorf("%s: body = %q, want %q", tt.url, e.Body, tt.want)
		}
		if e.URL != "https://hooks.example.com/…" {
			t.Errorf("%s: URL = %q, want scheme and host only", tt.url, e.URL)
		}
	}
}
