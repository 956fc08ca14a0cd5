package httpx_test

import (
	"encoding/json"
	"encoding/xml"
	"math"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hmsplatform/synclayer/internal/httpx"
)

// FuzzParseRetryAfter checks that any Retry-After value parses without a
// panic to a delay that is never negative, that delay-seconds give exactly
// that many seconds (saturating, never wrapping), and that what the two
// forms a server may send parses back.
func FuzzParseRetryAfter(f *testing.F) {
	for _, s := range []string{"120", "0", " 7 ", "", "-1", "+5", "1.5", "1e3", "0x10",
		"99999999999999999999", "9223372036", "Wed, 21 Oct 2015 07:28:00 GMT",
		"Sunday, 06-Nov-94 08:49:37 GMT", "Sun Nov  6 08:49:37 1994", "Wed, 21 Oct 2015 07:28:00 PST", "\x00", "５"} {
		f.Add(s)
	}
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, v string) {
		d, ok := httpx.ParseRetryAfter(v, now)
		if !ok {
			if d != 0 {
				t.Errorf("ParseRetryAfter(%q) = %v, false; want 0 when not ok", v, d)
			}
			return
		}
		if d < 0 {
			t.Errorf("ParseRetryAfter(%q) = %v: negative", v, d)
		}
		trimmed := strings.TrimSpace(v)
		if trimmed == "" {
			t.Errorf("ParseRetryAfter(%q) ok for a blank value", v)
		}
		if strings.Trim(trimmed, "0123456789") == "" {
			n, err := strconv.ParseUint(trimmed, 10, 64)
			want := time.Duration(math.MaxInt64)
			if err == nil && n <= uint64(math.MaxInt64/int64(time.Second)) {
				want = time.Duration(n) * time.Second
			}
			if d != want {
				t.Errorf("ParseRetryAfter(%q) = %v, want %v", v, d, want)
			}
		}

		// Both forms a server sends for a delay parse back to it.
		secs := int64(len(v)) * 7
		if got, ok := httpx.ParseRetryAfter(strconv.FormatInt(secs, 10), now); !ok || got != time.Duration(secs)*time.Second {
			t.Errorf("seconds form of %ds parsed as %v, %v", secs, got, ok)
		}
		date := now.Add(time.Duration(secs) * time.Second).Format("Mon, 02 Jan 2006 15:04:05 GMT")
		if got, ok := httpx.ParseRetryAfter(date, now); !ok || got != time.Duration(secs)*time.Second {
			t.Errorf("date form %q parsed as %v, %v; want %ds", date, got, ok, secs)
		}
	})
}

// FuzzRedactURL checks that a secret query value and a URL password never
// survive RedactURL, whatever the rest of the URL holds: the rendering must
// be the same whatever the secret is.
func FuzzRedactURL(f *testing.F) {
	f.Add("https://gis.example.com/arcgis/rest/services/x/FeatureServer/0?f=json", "s3cr3tT0ken")
	f.Add("http://user@host:8080/p/a%2Fb?q=1&q=2#frag", "pa55word!")
	f.Add("/relative?x=y", "abcdefgh")
	f.Add("https://h/?token=old&Token=older&api_key=k", "zzzzzzzz")
	f.Fuzz(func(t *testing.T, raw, secret string) {
		u, err := url.Parse(raw)
		if err != nil {
			return
		}
		with := func(s string) *url.URL {
			v := *u
			q := v.Query()
			q.Set("access_token", s)
			v.RawQuery = q.Encode()
			v.User = url.UserPassword("user", s)
			return &v
		}
		const placeholder = "placeholder-secret"
		for _, hide := range []bool{false, true} {
			got, want := httpx.RedactURL(with(secret), hide), httpx.RedactURL(with(placeholder), hide)
			if got != want {
				t.Fatalf("RedactURL(%q, %v) = %q, but with another secret %q: the secret shows", with(secret), hide, got, want)
			}
			if strings.Contains(got, placeholder) {
				t.Fatalf("RedactURL(%q, %v) = %q keeps the secret", with(placeholder), hide, got)
			}
		}
	})
}

// FuzzRedactSecret checks that a configured secret of any length and
// content never survives Redact, in any of the forms a partner echoes it
// in, whatever the text around it.
func FuzzRedactSecret(f *testing.F) {
	f.Add("you sent p&amp;ss&lt;word1 and Bearer x", "p&ss<word1")
	f.Add("xTED11", "TED1")
	f.Add(`{"password":"a\"b"}`, `a"b`)
	f.Add("k=%5E&x=^", "^")
	f.Fuzz(func(t *testing.T, text, secret string) {
		if secret == "" {
			return
		}
		c := &httpx.Classifier{Secrets: []string{secret}}
		var x strings.Builder
		_ = xml.EscapeText(&x, []byte(secret))
		j, _ := json.Marshal(secret)
		for _, in := range []string{text, text + secret + text, text + x.String() + text, text + strings.Trim(string(j), `"`) + text, text + url.QueryEscape(secret) + text} {
			got := c.Redact(nil, in)
			for _, form := range []string{secret, x.String(), strings.Trim(string(j), `"`), url.QueryEscape(secret)} {
				if form != "" && strings.Contains(got, form) {
					t.Fatalf("Redact(%q) = %q keeps the secret %q as %q", in, got, secret, form)
				}
			}
		}
	})
}
