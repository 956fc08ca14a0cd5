package rest_test

import (
	"net/http"
	"testing"

	"github.com/hmsplatform/synclayer/connectors/internal/conntest"
	"github.com/hmsplatform/synclayer/connectors/rest"
)

func TestConfigValidation(t *testing.T) {
	tests := []struct {
		name string
		cfg  rest.Config
		want string // part of the error; "" means valid
	}{
		{"minimal", rest.Config{BaseURL: "https://x.test"}, ""},
		{"trailing slash", rest.Config{BaseURL: "https://x.test/api/"}, ""},
		{"template with query", rest.Config{BaseURL: "https://x.test", Path: "/v1/{key}/doc?upsert=1"}, ""},
		{"missing URL", rest.Config{}, "BaseURL is required"},
		{"relative URL", rest.Config{BaseURL: "/api"}, "absolute http or https"},
		{"ftp URL", rest.Config{BaseURL: "ftp://x.test"}, "absolute http or https"},
		{"URL with query", rest.Config{BaseURL: "https://x.test?token=abc"}, "query"},
		{"bad URL", rest.Config{BaseURL: "https://x.test/%zz"}, "BaseURL"},
		{"no placeholder", rest.Config{BaseURL: "https://x.test", Path: "/records"}, "exactly once"},
		{"two placeholders", rest.Config{BaseURL: "https://x.test", Path: "/{key}/{key}"}, "exactly once"},
		{"no leading slash", rest.Config{BaseURL: "https://x.test", Path: "records/{key}"}, "start with /"},
		{"no leading slash, token in the query", rest.Config{BaseURL: "https://x.test", Path: "records/{key}?access_token=abc&x=abc"}, `"records/{key}?access_token=…&x=…" must start with /`},
		{"stray brace, token in the query", rest.Config{BaseURL: "https://x.test", Path: "/{id}/{key}?t=abc"}, "brace"},
		{"placeholder in query", rest.Config{BaseURL: "https://x.test", Path: "/records?id={key}"}, "not the query"},
		{"stray brace", rest.Config{BaseURL: "https://x.test", Path: "/{id}/{key}"}, "brace"},
		{"bad method", rest.Config{BaseURL: "https://x.test", Method: "GET"}, "Method"},
		{"header CRLF", rest.Config{BaseURL: "https://x.test", Header: http.Header{"X-A": {"a\r\nX-B: b"}}}, "CR, LF"},
		{"header name", rest.Config{BaseURL: "https://x.test", Header: http.Header{"X A": {"a"}}}, "header name"},
		{"negative concurrency", rest.Config{BaseURL: "https://x.test", Concurrency: -1}, "Concurrency(-1): must not be negative"},
		{"negative payload bound", rest.Config{BaseURL: "https://x.test", MaxPayloadBytes: -5}, "MaxPayloadBytes(-5)"},
	}
	newConn := func(cfg rest.Config) (conntest.Closer, error) { return rest.New(cfg) }
	for _, tt := range tests {
		conntest.CheckConfig(t, tt.name, "rest: config: ", "abc", newConn, tt.cfg, tt.want)
	}
}

func TestURLEscapesKey(t *testing.T) {
	c, err := rest.New(rest.Config{BaseURL: "https://x.test/api/", Path: "/v1/{key}/doc?upsert=1"})
	if err != nil {
		t.Fatal(err)
	}
	u, err := c.URL("a/b ü")
	if want := "https://x.test/api/v1/a%2Fb%20%C3%BC/doc?upsert=1"; err != nil || u != want {
		t.Errorf("URL = %q, %v; want %q", u, err, want)
	}
}
