package config

import (
	"fmt"
	"net/url"
	"os"
	"regexp"
	"strings"
)

// Secret is a setting that holds a credential. The file never holds the
// credential itself, only a reference to it: ${env:NAME} (an environment
// variable) or ${file:PATH} (a file's content, without its final line
// break; a relative PATH is relative to the configuration file). The
// reference is resolved by [Build]; an unset variable or an unreadable
// file is an error there, naming the place of the reference. Neither
// Secret nor any error of this package ever shows the resolved value.
type Secret struct {
	ref  string // "${env:NAME}" as written; empty when not set
	src  string // "env" or "file"
	name string // the variable or the path
	at   pos
	path string
}

// Set reports whether the setting was given.
func (s Secret) Set() bool { return s.ref != "" }

// String returns the reference as written, never the value.
func (s Secret) String() string { return s.ref }

// GoString returns the reference as written, never the value.
func (s Secret) GoString() string { return "config.Secret(" + s.ref + ")" }

// referenceRE is the whole of a secret reference.
var referenceRE = regexp.MustCompile(`^\$\{(env|file):([^{}]+)\}$`)

// envNameRE is a valid environment variable name.
var envNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// looksLikeReference reports whether s holds something like a reference.
func looksLikeReference(s string) bool { return strings.Contains(s, "${") }

func (s *Secret) decodeNode(d *decoder, n *node, path string) {
	text, ok := d.scalar(n, path, "a secret reference")
	if !ok {
		return
	}
	if !s.parse(d, n, path, text) {
		d.errorAt(n.at, path, "a secret must be a reference, ${env:NAME} or ${file:PATH}, not a value written in the file")
	}
}

// parse reads a reference; it reports false when text is not one. A
// malformed reference is reported here.
func (s *Secret) parse(d *decoder, n *node, path, text string) bool {
	m := referenceRE.FindStringSubmatch(text)
	if m == nil {
		if looksLikeReference(text) {
			d.errorAt(n.at, path, "malformed reference: want ${env:NAME} or ${file:PATH} as the whole value; a reference cannot be part of a text")
			*s = Secret{ref: "invalid"} // reported; keeps Set true so no "missing" error follows
			return true
		}
		return false
	}
	if m[1] == "env" && !envNameRE.MatchString(m[2]) {
		d.errorAt(n.at, path, "secret reference %s: %q is not an environment variable name", m[0], m[2])
	}
	*s = Secret{ref: m[0], src: m[1], name: m[2], at: n.at, path: path}
	return true
}

// Value is a setting that is either written in the file or a reference
// like [Secret]'s. It serves two kinds of setting: one that may hold a
// credential (a DSN with a password, a header), resolved as a secret with
// [Binding.Value]; and an address (a partner's URL), resolved with
// [Binding.URL], whose value is not a secret.
type Value struct {
	lit    string
	secret Secret
}

// Set reports whether the setting was given.
func (v Value) Set() bool { return v.lit != "" || v.secret.Set() }

// IsSecret reports whether the value is a secret reference.
func (v Value) IsSecret() bool { return v.secret.Set() }

// String returns the literal, or the reference as written for a secret.
func (v Value) String() string {
	if v.secret.Set() {
		return v.secret.String()
	}
	return v.lit
}

func (v *Value) decodeNode(d *decoder, n *node, path string) {
	text, ok := d.scalar(n, path, "a text")
	if !ok {
		return
	}
	if !v.secret.parse(d, n, path, text) {
		v.lit = text
	}
}

// secrets resolves references for Build. It remembers every value it
// resolved, so that output can be checked against them.
type secrets struct {
	dir    string // the configuration file's directory
	getenv func(string) (string, bool)
	read   func(string) ([]byte, error)
	values []string
}

// maxSecretBytes bounds a secret read from a file.
const maxSecretBytes = 64 << 10

// resolve resolves a secret and keeps its value among the secrets.
func (r *secrets) resolve(file string, s Secret) (string, *Error) {
	v, err := r.lookup(file, s, "secret")
	if err != nil {
		return "", err
	}
	r.values = append(r.values, v)
	return v, nil
}

// lookup resolves a reference without keeping its value. what names the
// reference in an error: "secret", or "reference" for an address.
func (r *secrets) lookup(file string, s Secret, what string) (string, *Error) {
	fail := func(format string, args ...any) (string, *Error) {
		return "", &Error{File: file, Line: s.at.line, Column: s.at.col, Path: s.path, Msg: fmt.Sprintf(format, args...)}
	}
	var v string
	switch s.src {
	case "env":
		val, ok := r.getenv(s.name)
		if !ok || val == "" {
			return fail("%s %s is not resolved: the environment variable is not set", what, s.ref)
		}
		v = val
	case "file":
		p := s.name
		if !strings.HasPrefix(p, "/") && r.dir != "" {
			p = r.dir + "/" + p
		}
		b, err := r.read(p)
		if err != nil {
			return fail("%s %s is not resolved: the file cannot be read", what, s.ref)
		}
		if len(b) > maxSecretBytes {
			return fail("%s %s is not resolved: the file is larger than %d bytes", what, s.ref, maxSecretBytes)
		}
		v = strings.TrimRight(string(b), "\r\n")
		if v == "" {
			return fail("%s %s is not resolved: the file is empty", what, s.ref)
		}
	default:
		return fail("%s reference is malformed", what)
	}
	return v, nil
}

func osSecrets(dir string) *secrets {
	return &secrets{dir: dir, getenv: os.LookupEnv, read: os.ReadFile}
}

// Binding is what a kind's New gets: the partner's name and concurrency,
// and the resolution of its secret settings. A failed resolution returns
// an [*Error] naming the place of the reference.
type Binding struct {
	Name        string // the partner's name, to register the connector under
	Concurrency int    // the partner's concurrency (0: the library default)
	file        string
	secrets     *secrets
}

// Secret resolves a secret setting; an unset one gives "".
func (b *Binding) Secret(s Secret) (string, error) {
	if !s.Set() {
		return "", nil
	}
	v, err := b.secrets.resolve(b.file, s)
	if err != nil {
		return "", b.named(err)
	}
	return v, nil
}

// Value resolves a setting that may be a secret reference.
func (b *Binding) Value(v Value) (string, error) {
	if v.secret.Set() {
		return b.Secret(v.secret)
	}
	return v.lit, nil
}

// login resolves a username setting and its password.
func (b *Binding) login(user Value, pass Secret) (string, string, error) {
	u, err := b.Value(user)
	if err != nil {
		return "", "", err
	}
	p, err := b.Secret(pass)
	if err != nil {
		return "", "", err
	}
	return u, p, nil
}

// URL resolves an address setting, such as a partner's base URL: the
// URL written in the file, or the value of its ${env:NAME} or
// ${file:PATH} reference, which must then be an absolute http or https
// URL without credentials (a URL written in the file is checked by
// Load). An unset variable, an unreadable file or a value that is no such
// URL is an [*Error] naming the file, the place of the reference, the
// setting and the partner; it never shows the value. An address is not a
// secret: its value is not kept among [Service.Secrets], and connectors
// show it in their errors as they show a URL written in the file.
// Credentials go in secret settings. An unset setting gives "".
func (b *Binding) URL(v Value) (string, error) {
	if !v.secret.Set() {
		return v.lit, nil
	}
	s := v.secret
	u, err := b.secrets.lookup(b.file, s, "reference")
	if err != nil {
		return "", b.named(err)
	}
	if msg := checkResolvedURL(u); msg != "" {
		return "", b.named(&Error{File: b.file, Line: s.at.line, Column: s.at.col, Path: s.path,
			Msg: fmt.Sprintf("reference %s does not give a usable URL: %s", s.ref, msg)})
	}
	return u, nil
}

// named puts the partner's name in an error about one of its settings.
func (b *Binding) named(e *Error) *Error {
	e.Msg = fmt.Sprintf("partner %q: %s", b.Name, e.Msg)
	return e
}

// redactText replaces a secret, and the password of a URL-shaped secret,
// wherever it appears in s.
func redactText(s, secret string) string {
	if secret == "" {
		return s
	}
	s = strings.ReplaceAll(s, secret, "[redacted]")
	if u, err := url.Parse(secret); err == nil && u.User != nil {
		if p, ok := u.User.Password(); ok && p != "" {
			s = strings.ReplaceAll(s, p, "[redacted]")
		}
	}
	return s
}
