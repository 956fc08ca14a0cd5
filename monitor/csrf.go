package monitor

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"net/http"
	"strings"
	"time"
)

// TokenHeader is the request header that must carry the CSRF token of a
// write action. A token is bound to the session whose cookie the same
// request carries, and expires with it. The dashboard reads its token from
// its page (a meta element named "csrf-token") and renews it from GET
// api/token; a page of another site can read neither.
const TokenHeader = "X-Synclayer-CSRF"

// SessionCookie is the name of the session cookie set by GET / and GET
// api/token when write actions are enabled: HttpOnly, SameSite=Strict,
// Secure over TLS, scoped to the monitor's mount path.
const SessionCookie = "synclayer_monitor_session"

const (
	sidLen    = 16
	macLen    = 16
	cookieLen = sidLen + 8 + macLen
	tokenLen  = 8 + macLen
)

var (
	errNoSession    = errors.New("monitor: no valid session; load the page or GET api/token first")
	errBadToken     = errors.New("monitor: missing or invalid " + TokenHeader + " header")
	errTokenExpired = errors.New("monitor: session or token expired; GET api/token for a new one")
)

// Token is the body of GET api/token.
type Token struct {
	Token string `json:"token"`
	// Expires is when the token and the session stop being valid.
	Expires time.Time `json:"expires"`
	// TTLSeconds is the token's lifetime; clients renew at half of it.
	TTLSeconds float64 `json:"ttlSeconds"`
}

// session renews the request's session, or starts one: it sets the
// session cookie with a fresh expiry and returns a token bound to it.
func (h *Handler) session(w http.ResponseWriter, r *http.Request) Token {
	now := h.now()
	sid, _, err := h.sessionOf(r, now)
	if err != nil {
		_, _ = rand.Read(sid[:])
	}
	exp := now.Add(h.tokenTTL).Truncate(time.Second)
	var c [cookieLen]byte
	copy(c[:], sid[:])
	binary.BigEndian.PutUint64(c[sidLen:], uint64(exp.Unix()))
	copy(c[sidLen+8:], h.mac("session", c[:sidLen+8]))
	http.SetCookie(w, &http.Cookie{
		Name:     SessionCookie,
		Value:    base64.RawURLEncoding.EncodeToString(c[:]),
		Path:     mountPath(r),
		MaxAge:   int(h.tokenTTL / time.Second),
		HttpOnly: true,
		Secure:   r.TLS != nil,
		SameSite: http.SameSiteStrictMode,
	})
	var t [tokenLen]byte
	binary.BigEndian.PutUint64(t[:], uint64(exp.Unix()))
	copy(t[8:], h.mac("csrf", append(sid[:], t[:8]...)))
	return Token{Token: base64.RawURLEncoding.EncodeToString(t[:]), Expires: exp.UTC(), TTLSeconds: h.tokenTTL.Seconds()}
}

// sessionOf returns the id and expiry of the request's valid session
// cookie.
func (h *Handler) sessionOf(r *http.Request, now time.Time) (sid [sidLen]byte, exp time.Time, err error) {
	err = errNoSession
	for _, c := range r.CookiesNamed(SessionCookie) {
		b, derr := base64.RawURLEncoding.DecodeString(c.Value)
		if derr != nil || len(b) != cookieLen || !hmac.Equal(b[sidLen+8:], h.mac("session", b[:sidLen+8])) {
			continue
		}
		e := time.Unix(int64(binary.BigEndian.Uint64(b[sidLen:])), 0)
		if !now.Before(e) {
			err = errTokenExpired
			continue
		}
		copy(sid[:], b)
		return sid, e, nil
	}
	return sid, time.Time{}, err
}

// checkToken verifies the request's CSRF token against its session.
func (h *Handler) checkToken(r *http.Request) error {
	now := h.now()
	tok := r.Header.Get(TokenHeader)
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(b) != tokenLen {
		return errBadToken
	}
	sid, _, err := h.sessionOf(r, now)
	if err != nil {
		return err
	}
	if !hmac.Equal(b[8:], h.mac("csrf", append(sid[:], b[:8]...))) {
		return errBadToken
	}
	if !now.Before(time.Unix(int64(binary.BigEndian.Uint64(b[:8])), 0)) {
		return errTokenExpired
	}
	return nil
}

// mac is the HMAC-SHA256, cut to macLen bytes, of msg under the handler's
// secret, for the given purpose.
func (h *Handler) mac(purpose string, msg []byte) []byte {
	m := hmac.New(sha256.New, h.secret[:])
	m.Write([]byte("synclayer monitor " + purpose + "\x00"))
	m.Write(msg)
	return m.Sum(nil)[:macLen]
}

// mountPath is the path the handler is mounted under, with a trailing
// slash: the part of the request's own URI before the path the handler
// sees (which http.StripPrefix shortened). "/" when it cannot tell.
func mountPath(r *http.Request) string {
	uri := r.RequestURI
	if i := strings.IndexAny(uri, "?#"); i >= 0 {
		uri = uri[:i]
	}
	if p := r.URL.EscapedPath(); strings.HasPrefix(uri, "/") && strings.HasSuffix(uri, p) {
		return strings.TrimSuffix(uri[:len(uri)-len(p)], "/") + "/"
	}
	return "/"
}

// serveToken renews the session (or starts one) and returns a fresh token.
func (h *Handler) serveToken(w http.ResponseWriter, r *http.Request) {
	if err := noQuery(r.URL.RawQuery); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if !h.writes {
		writeError(w, http.StatusForbidden, "monitor: write actions are disabled")
		return
	}
	writeJSON(w, http.StatusOK, h.session(w, r))
}
