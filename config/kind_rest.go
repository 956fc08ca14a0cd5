package config

import (
	"context"
	"net/http"
	"strings"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/connectors/rest"
)

// RestSettings are the settings of kind rest.
type RestSettings struct {
	BaseURL         Value            `yaml:"baseUrl,required"`
	Path            string           `yaml:"path"`
	Method          string           `yaml:"method"`
	Headers         map[string]Value `yaml:"headers"`
	MaxPayloadBytes int              `yaml:"maxPayloadBytes"`
}

func restKind() *Kind {
	return typedKind[RestSettings]{
		Name: "rest",
		Doc:  "A JSON REST API that upserts by key (connectors/rest): one PUT (or POST, PATCH) per record to baseUrl + path, DELETE for deletes. The record is the JSON body.",
		Open: true,
		Check: func(cfg *RestSettings) []FieldError {
			errs := addressErrors("baseUrl", cfg.BaseURL)
			if cfg.Path != "" && (!strings.HasPrefix(cfg.Path, "/") || strings.Count(cfg.Path, "{key}") != 1) {
				errs = append(errs, FieldError{"path", `want a path starting with "/" holding "{key}" once`})
			}
			errs = append(errs, choiceErrors("method", cfg.Method, "want PUT, POST or PATCH", http.MethodPut, http.MethodPost, http.MethodPatch)...)
			return append(errs, checkHeaders(cfg.Headers)...)
		},
		New: func(_ context.Context, b *Binding, cfg *RestSettings) (synclayer.Connector, error) {
			base, h, secret, err := resolveEndpoint(b, cfg.BaseURL, cfg.Headers)
			if err != nil {
				return nil, err
			}
			return rest.New(rest.Config{BaseURL: base, Name: b.Name, Path: cfg.Path, Method: cfg.Method,
				Header: h, SecretHeaders: secret, Concurrency: b.Concurrency, MaxPayloadBytes: cfg.MaxPayloadBytes})
		},
		Payload: func(r RecordValue) (any, error) { return r.JSON(), nil },
	}.kind()
}

// checkHeaders refuses header names and literal values that cannot be
// sent.
func checkHeaders(h map[string]Value) []FieldError {
	var errs []FieldError
	for name, v := range h {
		if name == "" || strings.ContainsAny(name, " :\r\n\x00") {
			errs = append(errs, FieldError{"headers." + name, "not a valid header name"})
		}
		if !v.IsSecret() && strings.ContainsAny(v.lit, "\r\n\x00") {
			errs = append(errs, FieldError{"headers." + name, "a header value must not hold CR, LF or NUL"})
		}
	}
	return errs
}

// resolveHeaders builds the header, and names those whose values are
// secrets.
func resolveHeaders(b *Binding, in map[string]Value) (http.Header, []string, error) {
	if len(in) == 0 {
		return nil, nil, nil
	}
	h := http.Header{}
	var secret []string
	for name, v := range in {
		val, err := b.Value(v)
		if err != nil {
			return nil, nil, err
		}
		h.Set(name, val)
		if v.IsSecret() {
			secret = append(secret, name)
		}
	}
	return h, secret, nil
}

// resolveEndpoint resolves the address and the headers of an HTTP kind,
// and names the headers whose values are secrets.
func resolveEndpoint(b *Binding, address Value, headers map[string]Value) (string, http.Header, []string, error) {
	u, err := b.URL(address)
	if err != nil {
		return "", nil, nil, err
	}
	h, secret, err := resolveHeaders(b, headers)
	if err != nil {
		return "", nil, nil, err
	}
	return u, h, secret, nil
}

func quoteText(s string) string { return `"` + clipQuoted(s) + `"` }
