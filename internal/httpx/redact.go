package httpx

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"unicode"
)

// Redacted replaces every secret in error texts.
const Redacted = "REDACTED"

// Withheld replaces a whole text that still held a secret after scrubbing
// (a replacement that formed the secret again with its neighbours).
const Withheld = "(withheld: it held a credential)"

// defaultSecretHeaders are always treated as secret.
var defaultSecretHeaders = []string{"Authorization", "Proxy-Authorization", "Cookie", "X-Api-Key", "X-Esri-Authorization"}

// secretHeaderName matches header names whose values are secret beyond the
// defaults: anything naming auth, a token, a key, a secret, a password, a
// session, a signature or a cookie.
var secretHeaderName = regexp.MustCompile(`(?i)auth|token|secret|passw|pwd|session|signature|cookie|credential|(^|[-_])key$|api[-_]?key|access[-_]?key`)

// secretName matches query parameter names whose values are secrets:
// names containing token, secret, password, signature, auth, credential,
// session or api/access/private key, and the bare names key, code, sig.
var secretName = regexp.MustCompile(`(?i)^(key|code|sig|pass|pw)$|token|secret|passw|pwd|signature|auth|credential|session|api[_-]?key|access[_-]?key|private[_-]?key`)

// secretWords is the part of secretName that also names secret JSON
// fields, XML elements and header lines in free text.
const secretWords = `[a-z0-9_.\-]*(?:token|secret|passw|pwd|signature|auth|credential|session|cookie|api[_-]?key|access[_-]?key|private[_-]?key)[a-z0-9_.\-]*`

// secretParamInText matches "name=value" pairs with such a name inside
// free text (a URL quoted by a transport error, an echoed request). The
// bare names are matched only right after '?', '&' or ';', where they are
// URL parameters rather than words.
var secretParamInText = regexp.MustCompile(`(?i)([?&;](?:key|code|sig|pass|pw)=|` + secretWords + `=)[^&;,\s"'<>]+`)

// secretHeaderLine matches "Name: value" lines of secret headers, as a
// partner echoing the request writes them.
var secretHeaderLine = regexp.MustCompile(`(?im)^([ \t]*` + secretWords + `[ \t]*:[ \t]*(?:(?:bearer|basic|digest|token)[ \t]+)?)[^\r\n]+`)

// secretJSONField matches a JSON member with a secret name and a string
// or array-of-strings value.
var secretJSONField = regexp.MustCompile(`(?i)("` + secretWords + `"\s*:\s*\[?\s*")(?:[^"\\]|\\.)*(")`)

// secretXMLElement matches the text of an XML element with a secret name
// (a WS-Security Password, an echoed token).
var secretXMLElement = regexp.MustCompile(`(?is)(<(?:[a-z0-9_.\-]+:)?(` + secretWords + `|nonce)\b[^>]*>)[^<]*(</)`)

// bearerInText matches credentials of the Bearer and Basic schemes.
// The scheme may be followed by a URL-encoded space, and the credential
// runs to the next space, quote or raw backslash (a JSON \u escape
// continues it). A "credential" of lowercase letters only is a word of
// prose ("basic authentication"), which [redactor.text] keeps.
var bearerInText = regexp.MustCompile(`(?i)\b(bearer|basic)(\s+|\+|%20)((?:[^\s"'\\]|\\u[0-9a-f]{4})+)`)

// proseWord matches a lowercase word.
var proseWord = regexp.MustCompile(`^[a-z]+[.,;:!?)]*$`)

// urlInText matches absolute URLs in free text.
var urlInText = regexp.MustCompile(`(?i)\b[a-z][a-z0-9+.\-]*://[^\s"'<>\\]+`)

// redactor scrubs the secrets of one exchange from texts.
type redactor struct {
	values   []string // secret values in every encoding, longest first
	hidePath bool
}

// secretCollector gathers the secret values of an exchange.
type secretCollector struct {
	extra []string // names of further secret headers
	vals  []string
}

// add records v and the forms it takes once encoded: XML-escaped (both
// entity styles), JSON-escaped (with and without HTML escaping) and
// URL-escaped. Every length counts: a one-byte password is still a
// password.
func (s *secretCollector) add(v string) {
	if v == "" {
		return
	}
	forms := []string{v}
	if t := strings.TrimSpace(v); t != "" && t != v {
		forms = append(forms, t)
	}
	var x bytes.Buffer
	_ = xml.EscapeText(&x, []byte(v))
	forms = append(forms, x.String(), xmlNamed.Replace(v))
	if j, err := json.Marshal(v); err == nil {
		forms = append(forms, strings.Trim(string(j), `"`))
	}
	var jb bytes.Buffer
	enc := json.NewEncoder(&jb)
	enc.SetEscapeHTML(false)
	if enc.Encode(v) == nil {
		forms = append(forms, strings.Trim(strings.TrimSpace(jb.String()), `"`))
	}
	forms = append(forms, url.QueryEscape(v), url.PathEscape(v))
	for _, f := range forms {
		if f != "" {
			s.vals = append(s.vals, f)
		}
	}
}

// xmlNamed escapes with the named entities some XML writers use.
var xmlNamed = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&apos;")

// basic records the user:password pair of Basic credentials and its
// base64 form, as the Authorization header carries it.
func (s *secretCollector) basic(pair string) {
	s.add(pair)
	s.vals = append(s.vals, base64.StdEncoding.EncodeToString([]byte(pair)))
}

// fragment records v, a part of a request that may be a credential (a
// cookie value, a URL path), unless it is only padding or punctuation (no
// letter, no digit: "=", "/"): such a fragment is no credential, and would
// scrub the same characters everywhere in the partner's text. Short values count otherwise: a session cookie may be
// short, and the contract is that no credential shows, whatever its length.
func (s *secretCollector) fragment(v string) {
	if !strings.ContainsFunc(v, func(r rune) bool {
		return unicode.IsLetter(r) || unicode.IsDigit(r)
	}) {
		return
	}
	s.add(v)
}

// header collects the secret values of h: the whole value of each secret
// header, its credential without the scheme, the user and password of
// Basic credentials and, for cookie headers only (their values are
// name=value pairs; a Basic credential's base64 padding is not), the
// cookie values.
func (s *secretCollector) header(h http.Header) {
	for name, vs := range h {
		if !s.secretHeader(name) {
			continue
		}
		for _, v := range vs {
			s.add(v)
			scheme, cred, ok := strings.Cut(strings.TrimSpace(v), " ")
			if ok {
				s.add(strings.TrimSpace(cred))
				if strings.EqualFold(scheme, "basic") {
					if dec, err := base64.StdEncoding.DecodeString(strings.TrimSpace(cred)); err == nil {
						_, pass, _ := strings.Cut(string(dec), ":")
						s.basic(string(dec))
						s.add(pass)
					}
				}
			}
			if !strings.Contains(strings.ToLower(name), "cookie") {
				continue
			}
			for part := range strings.SplitSeq(v, ";") {
				if _, val, ok := strings.Cut(part, "="); ok {
					s.fragment(strings.TrimSpace(val))
				}
			}
		}
	}
}

func (s *secretCollector) secretHeader(name string) bool {
	if secretHeaderName.MatchString(name) {
		return true
	}
	for _, n := range defaultSecretHeaders {
		if strings.EqualFold(n, name) {
			return true
		}
	}
	for _, n := range s.extra {
		if strings.EqualFold(n, name) {
			return true
		}
	}
	return false
}

// url collects the password of u and the values of its secret query
// parameters; with hidePath, its whole path (the path is then a
// credential) and those of its segments that look like tokens (see
// tokenSegment), for a partner that echoes a segment alone.
func (s *secretCollector) url(u *url.URL, hidePath bool) {
	if u == nil {
		return
	}
	if hidePath {
		s.fragment(u.Path)
		s.fragment(u.EscapedPath())
		for seg := range strings.SplitSeq(u.Path, "/") {
			if tokenSegment(seg) {
				s.add(seg)
			}
		}
	}
	if p, ok := u.User.Password(); ok {
		s.add(p)
		s.basic(u.User.Username() + ":" + p)
	}
	for name, vs := range u.Query() {
		if secretName.MatchString(name) {
			for _, v := range vs {
				s.add(v)
			}
		}
	}
}

// minTokenSegment is the length from which a path segment can be a token.
const minTokenSegment = 8

// tokenSegment reports whether a URL path segment looks like a credential
// rather than a word of the API ("api", "v1", "hooks", "webhooks"): at
// least minTokenSegment bytes, and either long (2*minTokenSegment bytes or
// more) or holding something besides lowercase letters, '-', '_' and '.'
// (a digit, an uppercase letter, another sign).
func tokenSegment(seg string) bool {
	if len(seg) < minTokenSegment {
		return false
	}
	if len(seg) >= 2*minTokenSegment {
		return true
	}
	return strings.ContainsFunc(seg, func(r rune) bool {
		return !('a' <= r && r <= 'z' || r == '-' || r == '_' || r == '.')
	})
}

// newRedactor collects the secret values of c and of the request: the
// request as the connector built it and, when the caller's transport
// cloned it to add credentials, that clone as it reached the network
// (resp.Request).
func (c *Classifier) newRedactor(reqs ...*http.Request) redactor {
	s := &secretCollector{extra: c.SecretHeaders}
	for _, v := range c.Secrets {
		s.add(v)
	}
	for _, req := range reqs {
		if req == nil {
			continue
		}
		s.header(req.Header)
		s.url(req.URL, c.HidePath)
	}
	vals := s.vals
	slices.SortFunc(vals, func(a, b string) int {
		if d := len(b) - len(a); d != 0 {
			return d
		}
		return strings.Compare(a, b)
	})
	return redactor{values: slices.Compact(vals), hidePath: c.HidePath}
}

// text scrubs s: URLs lose their credentials and queries (and their paths
// with HidePath), then every known secret value is replaced in each of its
// encodings, then secret-looking pairs, header lines, JSON members, XML
// elements and Bearer or Basic credentials lose their values. If a known
// secret is still there after that, the whole text is withheld.
func (r redactor) text(s string) string {
	if s == "" {
		return s
	}
	s = urlInText.ReplaceAllStringFunc(s, func(m string) string {
		trail := ""
		for len(m) > 0 && strings.ContainsRune(".,;:)]}", rune(m[len(m)-1])) {
			trail = m[len(m)-1:] + trail
			m = m[:len(m)-1]
		}
		u, err := url.Parse(m)
		if err != nil {
			return "(unparsable URL)" + trail
		}
		return RedactURL(u, r.hidePath) + trail
	})
	for _, v := range r.values {
		s = strings.ReplaceAll(s, v, Redacted)
	}
	s = secretHeaderLine.ReplaceAllString(s, "${1}"+Redacted)
	s = secretJSONField.ReplaceAllString(s, "${1}"+Redacted+"${2}")
	s = secretXMLElement.ReplaceAllString(s, "${1}"+Redacted+"${3}")
	s = secretParamInText.ReplaceAllString(s, "${1}"+Redacted)
	s = bearerInText.ReplaceAllStringFunc(s, func(m string) string {
		sub := bearerInText.FindStringSubmatch(m)
		if proseWord.MatchString(sub[3]) {
			return m
		}
		return sub[1] + sub[2] + Redacted
	})
	for _, v := range r.values {
		if strings.Contains(s, v) {
			return Withheld
		}
	}
	return s
}

// RedactURL renders u for an error text: scheme, host and path, never
// the user info, and "?…" in place of a query (its values may be
// credentials whatever their names); with hidePath, only scheme and host
// remain, and "/…" marks a cut path.
func RedactURL(u *url.URL, hidePath bool) string {
	if u == nil {
		return ""
	}
	v := url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path, RawPath: u.RawPath, Opaque: u.Opaque}
	if hidePath || v.Opaque != "" {
		v.Path, v.RawPath, v.Opaque = "", "", ""
		s := v.String()
		if u.Path != "" || u.Opaque != "" || u.RawQuery != "" {
			s += "/…"
		}
		return s
	}
	s := v.String()
	if u.RawQuery != "" || u.ForceQuery {
		s += "?…"
	}
	return s
}

// URLProblem says what is wrong with a URL that url.Parse refused,
// without quoting any of it (the URL may hold a credential).
func URLProblem(err error) string {
	var ee url.EscapeError
	var he url.InvalidHostError
	switch {
	case errors.As(err, &ee):
		return "holds an invalid %-escape"
	case errors.As(err, &he):
		return "has an invalid character in its host"
	case err != nil && strings.Contains(err.Error(), "userinfo"):
		return "has invalid user info"
	case err != nil && strings.Contains(err.Error(), "port"):
		return "has an invalid port"
	case err != nil && strings.Contains(err.Error(), "control character"):
		return "holds a control character"
	}
	return "is not a valid URL"
}

// Redact scrubs the secrets of req (its secret headers, URL password and
// secret query values, known values in every encoding) and the
// classifier's Secrets from s, for connectors that build error texts of
// their own.
func (c *Classifier) Redact(req *http.Request, s string) string {
	return c.newRedactor(req).text(s)
}
