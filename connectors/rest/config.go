package rest

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/hmsplatform/synclayer/internal/httpx"

	"github.com/hmsplatform/synclayer/internal/option"
)

// Defaults of [Config].
const (
	DefaultPath            = "/records/{key}"
	DefaultMethod          = http.MethodPut
	DefaultMaxPayloadBytes = 8 << 20
)

// Config configures a [Connector]. BaseURL is required; every other field
// has a documented default, so a Config with only BaseURL set works.
//
// A zero field means its default; New refuses an invalid value (a
// negative number, a malformed URL, a field it cannot use) with an error
// that names the field and wraps synclayer.ErrInvalidOption. Nothing
// panics.
type Config struct {
	// BaseURL is the partner's API root, an absolute http or https URL such
	// as "https://records.example.com/api/v2", without a query or fragment
	// (a query belongs in Path). Required. Put credentials in Client or
	// Header; a URL password or a token in Path's query is still redacted
	// from errors.
	BaseURL string

	// Name identifies the connector in the Idempotency-Key it derives and
	// in error texts. Use the name it is registered under (default "rest").
	Name string

	// Path is appended to BaseURL; "{key}" marks where the record key goes,
	// escaped as one path segment. It must start with "/" and hold exactly
	// one "{key}", in the path part (a query may follow). Default
	// "/records/{key}".
	Path string

	// Method is the upsert method: PUT (default), POST or PATCH. The
	// partner must treat it as create-or-replace by key. Deletes always use
	// DELETE on the same URL.
	Method string

	// Header is sent with every request (after the defaults
	// Content-Type: application/json and Accept: application/json, which
	// it may override). Values must not hold CR, LF or NUL.
	Header http.Header

	// SecretHeaders names headers of Header whose values are secrets, to be
	// kept out of errors beyond the always-secret Authorization,
	// Proxy-Authorization, Cookie and X-Api-Key.
	SecretHeaders []string

	// Client sends the requests; auth, proxies and tracing live there.
	// Nil builds a client whose transport keeps Concurrency idle
	// connections per host (net/http's default of 2 costs throughput).
	// A caller's client should do the same (MaxIdleConnsPerHost).
	Client *http.Client

	// Concurrency sizes the idle pool of the built client. Set it to the
	// connector's synclayer.WithConcurrency. Default
	// httpx.DefaultConcurrency. Ignored when Client is set.
	Concurrency int

	// MaxPayloadBytes bounds the JSON body (default 8 MiB), and the
	// record body Verify reads.
	MaxPayloadBytes int

	// OwnedFields names the fields of the record that the partner owns
	// (notes an agency adds, say): [Connector.Verify] never compares them,
	// and [Connector.Repair] sends the partner's values of them as it read
	// them. A nested field is named by its path with dots
	// ("contact.note"). Sync still sends what the payload holds.
	OwnedFields []string

	// FoldCase names the fields whose strings the partner stores in a case
	// of its own (an e-mail address it lowercases, say): Verify compares
	// them case-insensitively. Dotted paths as in OwnedFields; "$" names
	// the whole body when the payload is not a JSON object.
	FoldCase []string
}

const keyPlaceholder = "{key}"

// validate fills defaults and checks cfg; it returns the parsed base URL
// and the template split around {key}.
func (cfg *Config) validate() (prefix, suffix string, err error) {
	fail := func(format string, args ...any) (string, string, error) {
		return "", "", fmt.Errorf("rest: config: %w: "+format, append([]any{option.ErrInvalid}, args...)...)
	}
	if err := errors.Join(option.NonNegative("Concurrency", cfg.Concurrency), option.NonNegative("MaxPayloadBytes", cfg.MaxPayloadBytes)); err != nil {
		return "", "", fmt.Errorf("rest: config: %w", err)
	}
	if cfg.Name == "" {
		cfg.Name = "rest"
	}
	if cfg.Path == "" {
		cfg.Path = DefaultPath
	}
	if cfg.Method == "" {
		cfg.Method = DefaultMethod
	}
	if cfg.Concurrency == 0 {
		cfg.Concurrency = httpx.DefaultConcurrency
	}
	if cfg.MaxPayloadBytes == 0 {
		cfg.MaxPayloadBytes = DefaultMaxPayloadBytes
	}
	if cfg.BaseURL == "" {
		return fail("BaseURL is required")
	}
	base, perr := url.Parse(cfg.BaseURL)
	if perr != nil {
		return fail("BaseURL %s", httpx.URLProblem(perr))
	}
	if (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return fail("BaseURL must be an absolute http or https URL")
	}
	if base.RawQuery != "" || base.Fragment != "" {
		return fail("BaseURL must not have a query or fragment; put a query in Path")
	}
	switch cfg.Method {
	case http.MethodPut, http.MethodPost, http.MethodPatch:
	default:
		return fail("Method %q: want PUT, POST or PATCH", cfg.Method)
	}
	p := cfg.Path
	shown := pathForErrors(p)
	if !strings.HasPrefix(p, "/") {
		return fail("Path %q must start with /", shown)
	}
	if strings.Count(p, keyPlaceholder) != 1 {
		return fail("Path %q must hold %s exactly once", shown, keyPlaceholder)
	}
	i := strings.Index(p, keyPlaceholder)
	prefix, suffix = p[:i], p[i+len(keyPlaceholder):]
	if strings.ContainsAny(prefix, "?#") {
		return fail("Path %q: %s must be in the path, not the query", shown, keyPlaceholder)
	}
	if strings.ContainsAny(prefix+suffix, "{}# \t\r\n") {
		return fail("Path %q holds a brace, space, control character or fragment besides %s", shown, keyPlaceholder)
	}
	if _, err := url.Parse(strings.TrimSuffix(cfg.BaseURL, "/") + prefix + "k" + suffix); err != nil {
		return fail("Path %q does not make a valid URL", shown)
	}
	if err := httpx.CheckHeader(cfg.Header, nil); err != nil {
		return fail("%w", err)
	}
	for field, names := range map[string][]string{"OwnedFields": cfg.OwnedFields, "FoldCase": cfg.FoldCase} {
		for _, n := range names {
			if n == "" || slices.Contains(strings.Split(n, "."), "") {
				return fail("%s holds %q: want a field name, or a path of names joined by dots", field, n)
			}
		}
	}
	return prefix, suffix, nil
}

// pathForErrors is Path as errors show it: without the values of its
// query, which may be credentials.
func pathForErrors(p string) string {
	path, query, ok := strings.Cut(p, "?")
	if !ok {
		return p
	}
	var names []string
	for pair := range strings.SplitSeq(query, "&") {
		name, _, _ := strings.Cut(pair, "=")
		names = append(names, name+"=…")
	}
	return path + "?" + strings.Join(names, "&")
}
