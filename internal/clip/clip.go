// Package clip bounds strings for error messages and logs. It is the one
// truncation helper of the module: every package that shortens text it did not
// write calls it, so no message is ever cut in the middle of a UTF-8 sequence.
package clip

import (
	"strings"
	"unicode/utf8"
)

// Ellipsis marks where String cut its input.
const Ellipsis = "…"

// String returns s cut to at most n bytes of valid UTF-8, with Ellipsis added
// when anything was cut. A cut never splits a multi-byte character, and bytes
// that are not UTF-8 become U+FFFD. n <= 0 gives the empty string.
func String(s string, n int) string {
	if n <= 0 {
		return ""
	}
	if !utf8.ValidString(s) {
		// Repair first: U+FFFD is three bytes, so repairing after the cut
		// could grow the result past n.
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	if len(s) > n {
		s = Prefix(s, n) + Ellipsis
	}
	return s
}

// Prefix returns the longest prefix of s of at most n bytes that does not end
// inside a multi-byte character. It adds nothing and repairs nothing, so a
// caller that quotes the result (%q) still shows invalid bytes as they are.
func Prefix(s string, n int) string {
	if n <= 0 {
		return ""
	}
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}
