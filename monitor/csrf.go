package monitor

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
)

// TokenHeader is the request header that must carry the CSRF token of a
// write action. The dashboard reads the token from its page (a meta element
// named "csrf-token"); a page of another site cannot read it.
const TokenHeader = "X-Synclayer-CSRF"

// Token returns a fresh CSRF token for write actions, for clients other
// than the dashboard (a script that first authenticates to the service).
func (h *Handler) Token() string { return h.newToken() }

// newToken returns a random nonce with its MAC under the handler's secret:
// valid for the handler's lifetime, checkable without storing it.
func (h *Handler) newToken() string {
	var buf [32]byte
	_, _ = rand.Read(buf[:16])
	copy(buf[16:], h.mac(buf[:16]))
	return base64.RawURLEncoding.EncodeToString(buf[:])
}

func (h *Handler) validToken(tok string) bool {
	if len(tok) != base64.RawURLEncoding.EncodedLen(32) {
		return false
	}
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(b) != 32 {
		return false
	}
	return hmac.Equal(b[16:], h.mac(b[:16]))
}

func (h *Handler) mac(nonce []byte) []byte {
	m := hmac.New(sha256.New, h.secret[:])
	m.Write([]byte("synclayer monitor csrf\x00"))
	m.Write(nonce)
	return m.Sum(nil)[:16]
}
