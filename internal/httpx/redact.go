package httpx

import (
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
)

// Redacted replaces every secret in error texts.
const Redacted = "REDACTED"

// defaultSecretHeaders are always treated as secret.
var defaultSecretHeaders = []string{"Authorization", "Proxy-Authorization", "Cookie", "X-Api-Key", "X-Esri-Authorization"}

// secretName matches query parameter names whose values are secrets:
// names containing token, secret, password, signature, auth, credential,
// session or api/access/private key, and the bare names key, code, sig.
var secretName = regexp.MustCompile(`(?i)^(key|code|sig|pass|pw)$|token|secret|passw|pwd|signature|auth|credential|session|api[_-]?key|access[_-]?key|private[_-]?key`)

// secretParamInText matches "name=value" pairs with such a name inside
// free text (a URL quoted by a transport error, an echoed request). The
// bare names are matched only right after '?', '&' or ';', where they are
// URL parameters rather than words.
var secretParamInText = regexp.MustCompile(`(?i)([?&;](?:key|code|sig|pass|pw)=|[a-z0-9_.\-]*(?:token|secret|passw|pwd|signature|auth|credential|session|api[_-]?key|access[_-]?key|private[_-]?key)[a-z0-9_.\-]*=)[^&;,\s"'<>]+`)

// bearerInText matches credentials of the Bearer and Basic schemes.
var bearerInText = regexp.MustCompile(`(?i)\b(bearer|basic)(\s+)[a-z0-9._~+/=\-]{6,}`)

// minSecretLen is the shortest literal secret value scrubbed from text;
// shorter values would mangle ordinary words.
const minSecretLen = 4

// redactor scrubs the secrets of one request from texts.
type redactor struct {
	values []string // literal secret values, longest first
}

// newRedactor collects the secret values of c and req.
func (c *Classifier) newRedactor(req *http.Request) redactor {
	var vals []string
	add := func(v string) {
		v = strings.TrimSpace(v)
		if len(v) >= minSecretLen {
			vals = append(vals, v)
		}
	}
	for _, s := range c.Secrets {
		add(s)
	}
	if req != nil {
		names := append(slices.Clone(defaultSecretHeaders), c.SecretHeaders...)
		for _, n := range names {
			for _, v := range req.Header.Values(n) {
				add(v)
				// "Bearer tok", "a=b; c=d": also the parts.
				fields := strings.FieldsFunc(v, func(r rune) bool { return r == ' ' || r == ';' || r == ',' })
				for i, f := range fields {
					if _, val, ok := strings.Cut(f, "="); ok && !strings.HasSuffix(f, "=") {
						add(val)
					} else if i > 0 || len(fields) == 1 {
						add(f)
					}
				}
			}
		}
		if req.URL != nil {
			if p, ok := req.URL.User.Password(); ok {
				add(p)
			}
			for name, vs := range req.URL.Query() {
				if secretName.MatchString(name) {
					for _, v := range vs {
						add(v)
						add(url.QueryEscape(v))
					}
				}
			}
		}
	}
	slices.SortFunc(vals, func(a, b string) int { return len(b) - len(a) })
	return redactor{values: slices.Compact(vals)}
}

// text scrubs s.
func (r redactor) text(s string) string {
	for _, v := range r.values {
		s = strings.ReplaceAll(s, v, Redacted)
	}
	s = secretParamInText.ReplaceAllString(s, "${1}"+Redacted)
	s = bearerInText.ReplaceAllString(s, "${1}${2}"+Redacted)
	return s
}

// RedactURL renders u without its password and secret query values; with
// hidePath, only scheme and host remain.
func RedactURL(u *url.URL, hidePath bool) string {
	if u == nil {
		return ""
	}
	v := *u
	v.Fragment, v.RawFragment = "", ""
	if hidePath {
		return (&url.URL{Scheme: v.Scheme, Host: v.Host}).String() + "/…"
	}
	if v.User != nil {
		if _, ok := v.User.Password(); ok {
			v.User = url.UserPassword(v.User.Username(), Redacted)
		}
	}
	if v.RawQuery != "" {
		q := v.Query()
		changed := false
		for name, vs := range q {
			if secretName.MatchString(name) {
				for i := range vs {
					vs[i] = Redacted
				}
				changed = true
			}
		}
		if changed {
			v.RawQuery = q.Encode()
		}
	}
	return v.String()
}

// Redact scrubs the secrets of req (its secret headers, URL password and
// secret query values) and the classifier's Secrets from s, for connectors
// that build error texts of their own.
func (c *Classifier) Redact(req *http.Request, s string) string {
	return c.newRedactor(req).text(s)
}
