package soap

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/hmsplatform/synclayer/internal/httpx"
	"github.com/hmsplatform/synclayer/internal/option"
)

// Defaults of [Config].
const (
	DefaultMaxPayloadBytes  = 4 << 20
	DefaultMaxResponseBytes = 1 << 20
)

// Config configures a [Connector]. URL is required; every other field has
// a documented default.
//
// A zero field means its default; New refuses an invalid value (a
// negative number, a malformed URL, a field it cannot use) with an error
// that names the field and wraps synclayer.ErrInvalidOption. Nothing
// panics.
type Config struct {
	// URL is the SOAP endpoint, an absolute http or https URL. Required.
	URL string

	// Version is SOAP11 (default) or SOAP12.
	Version Version

	// Action is the action URI of upserts: the SOAPAction header in SOAP
	// 1.1 (sent even when empty, as the spec requires), the action
	// parameter of the Content-Type in SOAP 1.2 (omitted when empty).
	Action string

	// DeleteAction is the action URI of deletes.
	DeleteAction string

	// DeleteBody builds the Body content of a delete for a key, such as
	// &DeleteRecord{Key: key}; it is used when a delete record has no
	// Payload of its own. When nil, a delete record must carry its Payload.
	DeleteBody func(key string, version int64) any

	// Security, when set, adds a WS-Security UsernameToken header to every
	// request. Its password never appears in errors.
	Security *UsernameToken

	// Header is sent with every request; it cannot override Content-Type
	// or SOAPAction. Values must not hold CR, LF or NUL.
	Header http.Header

	// SecretHeaders names headers of Header whose values are secrets.
	SecretHeaders []string

	// Client sends the requests. Nil builds one whose pool keeps
	// Concurrency connections per host.
	Client *http.Client

	// Concurrency sizes the built client's pool (default
	// httpx.DefaultConcurrency). Ignored when Client is set.
	Concurrency int

	// MaxPayloadBytes bounds the request envelope (default 4 MiB);
	// MaxResponseBytes bounds how much of a response is read to look for a
	// fault, and the response [Connector.Call] decodes (default 1 MiB).
	// For a multipart/related (MTOM) answer it bounds the whole body: the
	// envelope and all its attachments.
	MaxPayloadBytes  int
	MaxResponseBytes int

	// Now is the clock of UsernameToken digests; nil means time.Now.
	Now func() time.Time

	// Read, when set, reads the partner's current record of key through a
	// read operation of its WSDL (GetRecord, say), usually with
	// [Connector.Call], and makes [Connector.Verify] and
	// [Connector.Repair] work. It returns the record as a value that
	// encoding/xml marshals in the shape of the upsert Payload (the
	// payload's own type, typically; the root element's name aside), or
	// nil with a nil error when the partner has no record of key (map the
	// partner's "not found" fault to that). Without Read, Verify and
	// Repair return [ErrNoRead].
	Read func(ctx context.Context, c *Connector, key string) (any, error)

	// OwnedFields names the elements of the record that the partner owns
	// (notes an agency adds, say), by their dotted path below the
	// payload's root element ("Contact.Note"; "@name" for an attribute):
	// Verify never compares them, and Repair sends the partner's values
	// of them, which needs Read to return the payload's type.
	OwnedFields []string
}

func (cfg *Config) validate() error {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("soap: config: %w: "+format, append([]any{option.ErrInvalid}, args...)...)
	}
	if err := errors.Join(option.NonNegative("Concurrency", cfg.Concurrency), option.NonNegative("MaxPayloadBytes", cfg.MaxPayloadBytes), option.NonNegative("MaxResponseBytes", cfg.MaxResponseBytes)); err != nil {
		return fmt.Errorf("soap: config: %w", err)
	}
	cfg.Version = option.Default(cfg.Version, SOAP11)
	cfg.Concurrency = option.Default(cfg.Concurrency, httpx.DefaultConcurrency)
	cfg.MaxPayloadBytes = option.Default(cfg.MaxPayloadBytes, DefaultMaxPayloadBytes)
	cfg.MaxResponseBytes = option.Default(cfg.MaxResponseBytes, DefaultMaxResponseBytes)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if err := httpx.CheckEndpoint("URL", cfg.URL); err != nil {
		return fail("%w", err)
	}
	if cfg.Version != SOAP11 && cfg.Version != SOAP12 {
		return fail("unknown %v: use SOAP11 or SOAP12", cfg.Version)
	}
	for _, a := range []string{cfg.Action, cfg.DeleteAction} {
		if strings.ContainsAny(a, "\"\\\r\n\x00") {
			return fail("action %q holds a quote, backslash, CR, LF or NUL", a)
		}
	}
	if s := cfg.Security; s != nil {
		if s.Username == "" {
			return fail("Security needs a Username")
		}
		// Each on its own: joined, the two halves of one UTF-8 sequence
		// would pass, and each would then travel as U+FFFD.
		if checkString(s.Username) != nil {
			return fail("Security: the username holds a character XML cannot carry")
		}
		if checkString(s.Password) != nil {
			return fail("Security: the password holds a character XML cannot carry")
		}
	}
	if err := httpx.CheckHeader(cfg.Header, func(name string) bool { return name == "Content-Type" || name == "Soapaction" }); err != nil {
		return fail("%w", err)
	}
	for _, n := range cfg.OwnedFields {
		if n == "" || slices.Contains(strings.Split(n, "."), "") {
			return fail("OwnedFields holds %q: want an element name, or a path of names joined by dots", n)
		}
	}
	return nil
}
