package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/hmsplatform/synclayer/internal/clip"
	"github.com/hmsplatform/synclayer/internal/option"
)

// Standard Webhooks header names.
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// DefaultTolerance is how far a message's timestamp may be from the
// receiver's clock, either way (the spec's 5 minutes).
const DefaultTolerance = 5 * time.Minute

// secretPrefix marks a Standard Webhooks secret.
const secretPrefix = "whsec_"

// Receiver-side failures, tested with errors.Is.
var (
	// ErrMissingHeaders: webhook-id, webhook-timestamp or
	// webhook-signature is absent or malformed.
	ErrMissingHeaders = errors.New("webhook: missing or malformed webhook headers")
	// ErrTimestamp: the timestamp is outside the tolerance (a replay, or a
	// skewed clock).
	ErrTimestamp = errors.New("webhook: timestamp outside tolerance")
	// ErrSignature: no v1 signature matches any of the secrets.
	ErrSignature = errors.New("webhook: no matching signature")
	// ErrSecret: a secret is empty or not base64 (with or without the
	// whsec_ prefix).
	ErrSecret = errors.New("webhook: invalid secret")
)

// DecodeSecret returns the signing key of a secret in whsec_ form; the
// prefix is optional. The key must be 16 to 128 bytes (the spec suggests
// 24 to 64).
func DecodeSecret(secret string) ([]byte, error) {
	s := strings.TrimPrefix(strings.TrimSpace(secret), secretPrefix)
	if s == "" {
		return nil, fmt.Errorf("%w: empty", ErrSecret)
	}
	key, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		// Do not echo the secret or the decoder's position in it.
		return nil, fmt.Errorf("%w: not base64", ErrSecret)
	}
	if len(key) < 16 || len(key) > 128 {
		return nil, fmt.Errorf("%w: %d bytes, want 16 to 128", ErrSecret, len(key))
	}
	return key, nil
}

// sign returns "v1,<base64 HMAC-SHA256 of id.timestamp.body>".
func sign(key []byte, id string, ts int64, body []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id))
	m.Write([]byte{'.'})
	m.Write([]byte(strconv.FormatInt(ts, 10)))
	m.Write([]byte{'.'})
	m.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// Sign returns the webhook-signature value of a message: one v1 signature
// per secret, separated by spaces (several during a key rotation).
func Sign(secrets []string, id string, ts time.Time, body []byte) (string, error) {
	if len(secrets) == 0 {
		return "", fmt.Errorf("%w: none given", ErrSecret)
	}
	sigs := make([]string, len(secrets))
	for i, s := range secrets {
		key, err := DecodeSecret(s)
		if err != nil {
			return "", err
		}
		sigs[i] = sign(key, id, ts.Unix(), body)
	}
	return strings.Join(sigs, " "), nil
}

// Verifier checks signed webhooks on the receiving side. The zero
// Tolerance means [DefaultTolerance]; a negative one makes Verify fail with
// an error wrapping synclayer.ErrInvalidOption. A nil Now means time.Now. A Verifier is safe for concurrent use.
type Verifier struct {
	// Secrets accepted, in whsec_ form; a message signed with any of them
	// passes (the receiver's half of a rotation).
	Secrets   []string
	Tolerance time.Duration
	Now       func() time.Time
}

// Verify checks the webhook headers of a received message against its raw
// body with one secret, the current time and [DefaultTolerance]. It
// returns nil, or an error wrapping [ErrMissingHeaders], [ErrTimestamp],
// [ErrSignature] or [ErrSecret]. Pass the body exactly as received.
func Verify(secret string, h http.Header, body []byte) error {
	return Verifier{Secrets: []string{secret}}.Verify(h, body)
}

// Verify checks h and body as the package-level [Verify] does, with v's
// secrets, clock and tolerance.
func (v Verifier) Verify(h http.Header, body []byte) error {
	id := h.Get(HeaderID)
	tsText := h.Get(HeaderTimestamp)
	sigs := h.Get(HeaderSignature)
	if id == "" || tsText == "" || sigs == "" {
		return ErrMissingHeaders
	}
	ts, err := strconv.ParseInt(tsText, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: timestamp %q", ErrMissingHeaders, clip.String(tsText, 32))
	}
	now := time.Now
	if v.Now != nil {
		now = v.Now
	}
	if err := option.NonNegative("Verifier.Tolerance", v.Tolerance); err != nil {
		return fmt.Errorf("webhook: %w", err)
	}
	tol := option.Default(v.Tolerance, DefaultTolerance)
	if !within(ts, now().Unix(), int64(tol/time.Second)) {
		return fmt.Errorf("%w: %d is more than %v from now", ErrTimestamp, ts, tol)
	}
	if len(v.Secrets) == 0 {
		return fmt.Errorf("%w: none given", ErrSecret)
	}
	for _, s := range v.Secrets {
		key, err := DecodeSecret(s)
		if err != nil {
			return err
		}
		want := sign(key, id, ts, body)
		for _, got := range strings.Fields(sigs) {
			if hmac.Equal([]byte(got), []byte(want)) {
				return nil
			}
		}
	}
	return ErrSignature
}

// within reports whether ts lies in [now-tol, now+tol], with bounds that
// saturate instead of overflowing (a timestamp near now-2^63 would wrap
// a plain difference around to a small one).
func within(ts, now, tol int64) bool {
	lo, hi := now-tol, now+tol
	if now < 0 && lo > now { // now-tol underflowed
		lo = math.MinInt64
	}
	if now > 0 && hi < now { // now+tol overflowed
		hi = math.MaxInt64
	}
	return ts >= lo && ts <= hi
}
