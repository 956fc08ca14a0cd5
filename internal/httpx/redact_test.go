package httpx

import "testing"

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
