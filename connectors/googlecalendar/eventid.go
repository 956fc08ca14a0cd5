package googlecalendar

import (
	"strings"

	"github.com/hmsplatform/synclayer/connectors/internal/keyid"
)

// EventID returns the Google Calendar event id of key in namespace: the
// lowercase base32hex encoding, without padding, of SHA-256 over the
// length-prefixed namespace and the key. It is 52 characters long, made
// of 0-9 and a-v only, as Google requires (5 to 1024 characters of
// base32hex). The namespace is length-prefixed, so no (namespace, key)
// pair is a re-split of another.
func EventID(namespace, key string) string {
	return keyid.Object(namespace, key)
}

// ValidEventID reports whether id is an event id Google accepts:
// 5 to 1024 characters of lowercase base32hex (0-9, a-v).
func ValidEventID(id string) bool {
	if len(id) < 5 || len(id) > 1024 {
		return false
	}
	return strings.Trim(id, "0123456789abcdefghijklmnopqrstuv") == ""
}
