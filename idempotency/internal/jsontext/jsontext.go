// Package jsontext tells how encoding/json keeps a string, for the
// durable delivery logs, which store names inside JSON and compare them
// with names as given.
package jsontext

import (
	"strings"
	"unicode/utf8"
)

// Kept returns s as encoding/json keeps it: each byte that is not part of
// valid UTF-8 becomes U+FFFD.
func Kept(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			b.WriteRune(utf8.RuneError)
		} else {
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}
