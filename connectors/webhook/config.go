package webhook

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/hmsplatform/synclayer/internal/httpx"
	"github.com/hmsplatform/synclayer/internal/option"
)

// DefaultMaxPayloadBytes bounds the JSON body unless Config says otherwise.
const DefaultMaxPayloadBytes = 1 << 20

// Config configures a [Connector]. URL and Secrets are required; every
// other field has a documented default.
//
// A zero field means its default; New refuses an invalid value (a
// negative number, a malformed URL, a field it cannot use) with an error
// that names the field and wraps synclayer.ErrInvalidOption. Nothing
// panics.
type Config struct {
	// URL is the receiver's endpoint, an absolute http or https URL. Its
	// path and query never appear in errors (many endpoints carry a
	// credential there). Required.
	URL string

	// Secrets sign every message, in whsec_ form (the prefix is optional),
	// each 16 to 128 bytes once decoded. Give two during a rotation: each
	// message then carries both signatures. At least one is required.
	Secrets []string

	// Name identifies the connector in the webhook-id it derives (default
	// "webhook"). Use the name it is registered under.
	Name string

	// Header is sent with every request, after the defaults Content-Type:
	// application/json and User-Agent; it cannot override the webhook-*
	// headers. Values must not hold CR, LF or NUL.
	Header http.Header

	// SecretHeaders names headers of Header whose values are secrets, to be
	// kept out of errors beyond the always-secret Authorization,
	// Proxy-Authorization, Cookie, X-Api-Key and X-Esri-Authorization.
	SecretHeaders []string

	// Client sends the requests. Nil builds one (pool of Concurrency
	// connections, redirects not followed: the spec counts a 3xx as a
	// failure).
	Client *http.Client

	// Concurrency sizes the built client's pool (default
	// httpx.DefaultConcurrency). Ignored when Client is set.
	Concurrency int

	// MaxPayloadBytes bounds the body (default 1 MiB).
	MaxPayloadBytes int

	// Now is the clock of webhook-timestamp; nil means time.Now.
	Now func() time.Time
}

func (cfg *Config) validate() error {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("webhook: config: %w: "+format, append([]any{option.ErrInvalid}, args...)...)
	}
	if err := errors.Join(option.NonNegative("Concurrency", cfg.Concurrency), option.NonNegative("MaxPayloadBytes", cfg.MaxPayloadBytes)); err != nil {
		return fmt.Errorf("webhook: config: %w", err)
	}
	if cfg.Name == "" {
		cfg.Name = "webhook"
	}
	cfg.Concurrency = option.Default(cfg.Concurrency, httpx.DefaultConcurrency)
	cfg.MaxPayloadBytes = option.Default(cfg.MaxPayloadBytes, DefaultMaxPayloadBytes)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if err := httpx.CheckEndpoint("URL", cfg.URL); err != nil {
		return fail("%w", err)
	}
	if len(cfg.Secrets) == 0 {
		return fail("at least one secret is required")
	}
	for i, s := range cfg.Secrets {
		if _, err := DecodeSecret(s); err != nil {
			return fail("secret %d: %w", i+1, err)
		}
	}
	if err := httpx.CheckHeader(cfg.Header, func(name string) bool { return strings.HasPrefix(name, "Webhook-") }); err != nil {
		return fail("%w", err)
	}
	return nil
}
