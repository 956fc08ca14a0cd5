package monitor_test

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/hmsplatform/synclayer/monitor"
)

// port returns the rig server's port.
func (r *rig) port(t *testing.T) string {
	t.Helper()
	u, err := url.Parse(r.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	return u.Port()
}

// doHost sends a request with the given Host header (and other headers)
// through the rig's client, and returns the code and body.
func (r *rig) doHost(t *testing.T, method, path, host string, hdr http.Header) (int, string) {
	t.Helper()
	req := newRequest(t, method, r.url(path), hdr)
	req.Host = host
	return send(t, r.client, req, nil)
}

// The DNS-rebinding reproduction: a page of evil.example whose name now
// points at the monitor loads it and posts pause with its own Origin. The
// Host header gives it away: both requests get 403, and nothing pauses.
func TestDNSRebindingRefused(t *testing.T) {
	r := newRig(t, monitor.WithWrites(true))
	if code, body := r.doHost(t, "GET", "", "evil.example", nil); code != http.StatusForbidden || !strings.Contains(body, "host not allowed") {
		t.Errorf("GET / with Host evil.example: %d %s, want 403", code, body)
	}
	tok := r.token(t) // even with a session and token got the right way
	code, body := r.doHost(t, "POST", "api/connectors/records/pause", "evil.example",
		http.Header{"Origin": {"http://evil.example"}, monitor.TokenHeader: {tok}})
	if code != http.StatusForbidden {
		t.Errorf("POST pause with Host and Origin evil.example: %d %s, want 403", code, body)
	}
	var st monitor.Status
	r.get(t, "api/status", &st)
	if st.Connectors[1].Paused {
		t.Fatal("records paused through a rebound host")
	}
	// The same POST from the monitor's own origin works.
	own := "127.0.0.1:" + r.port(t)
	if code, body := r.doHost(t, "POST", "api/connectors/records/pause", own,
		http.Header{"Origin": {"http://" + own}, monitor.TokenHeader: {tok}}); code != http.StatusOK {
		t.Errorf("POST pause from the own origin: %d %s", code, body)
	}
}

func TestAllowedHosts(t *testing.T) {
	def := newRig(t)
	p := def.port(t)
	named := newRig(t, monitor.WithAllowedHosts("ops.example.com", "[::1]:9"))
	for _, c := range []struct {
		r    *rig
		host string
		ok   bool
	}{
		{def, "127.0.0.1:" + p, true},
		{def, "localhost:" + p, true},
		{def, "LocalHost.:" + p, true},
		{def, "[::1]:" + p, true},
		{def, "localhost", false}, // port 80, not the listener's
		{def, "localhost:1", false},
		{def, "evil.example:" + p, false},
		{def, "127.0.0.1.evil.example:" + p, false},
		{named, "ops.example.com:" + p, true},
		{named, "OPS.example.com", true},
		{named, "[::1]:9", true},
		{named, "[::1]:" + p, false},
		{named, "127.0.0.1:" + p, false}, // the list replaces the default
	} {
		code, body := c.r.doHost(t, "GET", "api/status", c.host, nil)
		if (code == http.StatusOK) != c.ok || (!c.ok && code != http.StatusForbidden) {
			t.Errorf("Host %q: %d %s, want ok=%v", c.host, code, body, c.ok)
		}
	}
}

// tokenAt returns a write token of r's session, asked for with Host host
// (a session is the host's).
func tokenAt(t *testing.T, r *rig, host string) string {
	t.Helper()
	var tk monitor.Token
	req := newRequest(t, "GET", r.url("api/token"), nil)
	req.Host = host
	if code, body := send(t, r.client, req, &tk); code != http.StatusOK {
		t.Fatalf("token at %s: %d %s", host, code, body)
	}
	return tk.Token
}

// A write's Origin must be the request's own host (or a trusted origin),
// even when the browser calls it same-origin. Behind a TLS-terminating
// proxy the request comes over plain HTTP while the browser's Origin says
// https: a Host without a port then matches an Origin on its scheme's
// default port (names equal, no other port).
func TestWriteOrigin(t *testing.T) {
	r := newRig(t, monitor.WithWrites(true), monitor.WithTrustedOrigin("https://admin.example"),
		monitor.WithAllowedHosts("127.0.0.1", "ops.example.com", "other.example.com"))
	own := "127.0.0.1:" + r.port(t)
	for _, c := range []struct {
		origin, host, site string // host "": the listener's own address
		code               int
	}{
		{"http://" + own, "", "", 200},
		{"http://" + own, "", "same-origin", 200},
		{"", "", "", 200}, // not a browser: the session and token decide
		{"https://admin.example", "", "cross-site", 200},
		{"http://localhost:" + r.port(t), "", "", 403},
		{"http://localhost:" + r.port(t), "", "same-origin", 403},
		{"http://" + own + ".evil.example", "", "", 403},
		{"null", "", "", 403},
		// Behind a TLS-terminating proxy.
		{"https://ops.example.com", "ops.example.com", "same-origin", 200},
		{"https://ops.example.com", "ops.example.com", "", 200},
		{"https://ops.example.com:443", "ops.example.com", "same-origin", 200},
		{"http://ops.example.com", "ops.example.com", "same-origin", 200},
		{"https://ops.example.com:8443", "ops.example.com", "same-origin", 403},
		{"https://ops.example.com", "ops.example.com:8080", "same-origin", 403},
		{"https://ops.example.com", "other.example.com", "same-origin", 403},
		{"https://evil.example", "ops.example.com", "cross-site", 403},
	} {
		host := cmp.Or(c.host, own)
		hdr := http.Header{monitor.TokenHeader: {tokenAt(t, r, host)}}
		if c.origin != "" {
			hdr.Set("Origin", c.origin)
		}
		if c.site != "" {
			hdr.Set("Sec-Fetch-Site", c.site)
		}
		code, body := r.doHost(t, "POST", "api/connectors/records/pause", host, hdr)
		if code != c.code {
			t.Errorf("Origin %q Host %q Sec-Fetch-Site %q: %d %s, want %d", c.origin, host, c.site, code, body, c.code)
		}
		if c.code == http.StatusForbidden && c.origin != "" && !strings.Contains(body, "cross-origin") {
			t.Errorf("Origin %q Host %q: refused with %s, want a cross-origin refusal", c.origin, host, body)
		}
	}
}

func TestAuthorize(t *testing.T) {
	var calls int
	r := newRig(t, monitor.WithWrites(true), monitor.WithAuthorize(func(req *http.Request) error {
		calls++
		switch user := req.Header.Get("X-User"); {
		case user == "":
			return fmt.Errorf("no user in %s: %w", "secret-cookie-value", monitor.ErrUnauthenticated)
		case req.Method != http.MethodGet && user != "admin":
			return errors.New("user " + user + " may only read (secret-detail)")
		}
		return nil
	}))
	for _, c := range []struct {
		method, path, user string
		code               int
	}{
		{"GET", "", "", 401},
		{"GET", "assets/app.js", "", 401},
		{"GET", "api/status", "", 401},
		{"GET", "api/stream", "", 401},
		{"GET", "api/freshness", "", 401},
		{"GET", "api/freshness/records?key=WF-1", "", 401},
		{"GET", "api/freshness", "viewer", 200},
		{"GET", "api/status", "viewer", 200},
		{"GET", "", "viewer", 200},
		{"POST", "api/connectors/records/pause", "viewer", 403},
		{"POST", "api/connectors/records/pause", "admin", 200},
	} {
		hdr := http.Header{"X-User": {c.user}}
		if c.method == "POST" {
			hdr.Set(monitor.TokenHeader, tokenAs(t, r, "admin"))
		}
		before := calls
		code, body := r.do(t, c.method, c.path, hdr, nil)
		if code != c.code {
			t.Errorf("%s /%s as %q: %d %s, want %d", c.method, c.path, c.user, code, body, c.code)
		}
		if calls == before {
			t.Errorf("%s /%s: the authorize hook did not run", c.method, c.path)
		}
		if strings.Contains(body, "secret") {
			t.Errorf("%s /%s: the hook's error leaked: %s", c.method, c.path, body)
		}
		if code == 401 && body != `{"error":"monitor: authentication required"}`+"\n" {
			t.Errorf("401 body %q", body)
		}
	}
}

func tokenAs(t *testing.T, r *rig, user string) string {
	t.Helper()
	var tok monitor.Token
	if code, body := r.do(t, "GET", "api/token", http.Header{"X-User": {user}}, &tok); code != 200 {
		t.Fatalf("api/token as %s: %d %s", user, code, body)
	}
	return tok.Token
}

// A token works only with the session cookie it was made for.
func TestTokenBoundToSession(t *testing.T) {
	r := newRig(t, monitor.WithWrites(true))
	tokA := r.token(t)
	other, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	b := *r.client
	b.Jar = other
	res, err := b.Get(r.url("api/token")) // B's own session
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()

	post := func(c *http.Client, tok string) (int, string) {
		req, _ := http.NewRequest("POST", r.url("api/connectors/records/pause"), nil)
		req.Header.Set(monitor.TokenHeader, tok)
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(body)
	}
	if code, body := post(&b, tokA); code != http.StatusForbidden || !strings.Contains(body, "invalid") {
		t.Errorf("A's token with B's session: %d %s, want 403", code, body)
	}
	noJar := *r.client
	noJar.Jar = nil
	if code, body := post(&noJar, tokA); code != http.StatusForbidden || !strings.Contains(body, "no valid session") {
		t.Errorf("A's token without a session: %d %s, want 403", code, body)
	}
	if code, body := post(r.client, tokA); code != http.StatusOK {
		t.Errorf("A's token with A's session: %d %s", code, body)
	}
	// A forged cookie is no session.
	req, _ := http.NewRequest("POST", r.url("api/connectors/records/resume"), nil)
	req.Header.Set(monitor.TokenHeader, tokA)
	req.AddCookie(&http.Cookie{Name: monitor.SessionCookie, Value: strings.Repeat("A", 54)})
	res, err = noJar.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusForbidden {
		t.Errorf("forged session cookie: %d, want 403", res.StatusCode)
	}
}

// Tokens and sessions expire after the TTL; renewing in time keeps the
// session, and an expired session is replaced by a new one.
func TestTokenExpiry(t *testing.T) {
	r := newRig(t, monitor.WithWrites(true), monitor.WithTokenTTL(10*time.Minute))
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	monitor.SetClock(r.h, func() time.Time { return now })
	pause := func(tok string) (int, string) {
		return r.do(t, "POST", "api/connectors/records/pause", http.Header{monitor.TokenHeader: {tok}}, nil)
	}
	tokA := r.token(t)
	now = now.Add(6 * time.Minute)
	tokB := r.token(t) // renewed at more than half the TTL, as the page does
	now = now.Add(5 * time.Minute)
	if code, body := pause(tokA); code != http.StatusForbidden || !strings.Contains(body, "expired") {
		t.Errorf("token 11 min old: %d %s, want 403 expired", code, body)
	}
	if code, body := pause(tokB); code != http.StatusOK {
		t.Errorf("renewed token: %d %s", code, body)
	}
	now = now.Add(10 * time.Minute) // the session lapses too
	if code, body := pause(tokB); code != http.StatusForbidden || !strings.Contains(body, "expired") {
		t.Errorf("token of a lapsed session: %d %s, want 403 expired", code, body)
	}
	tokC := r.token(t) // a new session
	if code, body := pause(tokC); code != http.StatusOK {
		t.Errorf("token of a new session: %d %s", code, body)
	}
	if tokC == tokB {
		t.Error("a new session gave the old token")
	}
}

// GET / starts the session: the cookie is HttpOnly, SameSite=Strict,
// scoped to the mount path, and lives as long as the token; the page
// carries the token and its TTL. A read-only monitor sets no cookie.
func TestSessionCookie(t *testing.T) {
	r := newRig(t, monitor.WithWrites(true), monitor.WithTokenTTL(20*time.Minute))
	res, err := r.client.Get(r.url(""))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	var c *http.Cookie
	for _, k := range res.Cookies() {
		if k.Name == monitor.SessionCookie {
			c = k
		}
	}
	if c == nil || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/ops/sync/" || c.MaxAge != 1200 || c.Secure {
		t.Fatalf("session cookie %+v", c)
	}
	if !strings.Contains(string(body), `data-ttl="1200"`) || strings.Contains(string(body), `name="csrf-token" content=""`) {
		t.Errorf("page lacks its token or TTL")
	}
	ro := newRig(t)
	res, err = ro.client.Get(ro.url(""))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if len(res.Cookies()) != 0 {
		t.Errorf("read-only monitor set cookies %v", res.Cookies())
	}
	if code, body := ro.get(t, "api/token", nil); code != http.StatusForbidden {
		t.Errorf("api/token read-only: %d %s", code, body)
	}
}

// challengeErr is an authorization error that gives a challenge.
type challengeErr struct{}

func (challengeErr) Error() string     { return "no token" }
func (challengeErr) Unwrap() error     { return monitor.ErrUnauthenticated }
func (challengeErr) Challenge() string { return `Bearer realm="ops"` }

// A 401 carries the WWW-Authenticate challenge its error gives, and none
// when the error gives none.
func TestUnauthenticatedChallenge(t *testing.T) {
	for _, c := range []struct {
		err  error
		want string
	}{
		{challengeErr{}, `Bearer realm="ops"`},
		{fmt.Errorf("check: %w", challengeErr{}), `Bearer realm="ops"`},
		{fmt.Errorf("no user: %w", monitor.ErrUnauthenticated), ""},
	} {
		r := newRig(t, monitor.WithAuthorize(func(*http.Request) error { return c.err }))
		res, err := r.client.Get(r.url("api/status"))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusUnauthorized || res.Header.Get("WWW-Authenticate") != c.want {
			t.Errorf("%v: %d WWW-Authenticate %q, want 401 %q", c.err, res.StatusCode, res.Header.Get("WWW-Authenticate"), c.want)
		}
	}
}
