package googlecalendar_test

import (
	"testing"
	"unicode/utf8"

	"github.com/hmsplatform/synclayer/connectors/googlecalendar"
)

// FuzzEventID checks that no key gives an id Google would reject, and
// that distinct keys give distinct ids. Its seed corpus runs as a plain
// test with go test.
func FuzzEventID(f *testing.F) {
	for _, seed := range []struct{ ns, key string }{
		{"synclayer", "WF-123"},
		{"synclayer", ""},
		{"", "x"},
		{"synclayer", "a/b/../c"},
		{"synclayer", "Grüße 日本 🚀"},
		{"synclayer", "O'Brien\"; DROP"},
		{"synclayer", "\x00\xff\xfe"},
		{"ns\x00", "key"},
		{"synclayer", string(make([]byte, 1024))},
		{"UPPER", "UPPER-CASE_KEY"},
	} {
		f.Add(seed.ns, seed.key)
	}
	f.Fuzz(func(t *testing.T, ns, key string) {
		id := googlecalendar.EventID(ns, key)
		if !googlecalendar.ValidEventID(id) {
			t.Fatalf("EventID(%q, %q) = %q: not 5-1024 chars of [a-v0-9]", ns, key, id)
		}
		for _, r := range id {
			if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'v') {
				t.Fatalf("id %q holds %q", id, r)
			}
		}
		if len(id) != 52 || !utf8.ValidString(id) {
			t.Fatalf("id %q has length %d", id, len(id))
		}
		if id != googlecalendar.EventID(ns, key) {
			t.Fatal("not deterministic")
		}
		if other := googlecalendar.EventID(ns, key+"\x00"); other == id {
			t.Fatalf("keys %q and %q share an id", key, key+"\x00")
		}
		if ns != "" {
			if other := googlecalendar.EventID(ns[:len(ns)-1], ns[len(ns)-1:]+key); other == id {
				t.Fatal("namespace/key boundary not encoded")
			}
		}
	})
}

func TestValidEventID(t *testing.T) {
	for id, want := range map[string]bool{
		"abcde":                  true,
		"abcd":                   false,
		"0123456789abcdefghijuv": true,
		"abcdw":                  false,
		"ABCDE":                  false,
		"abc-de":                 false,
		string(make([]byte, 5)):  false,
	} {
		if got := googlecalendar.ValidEventID(id); got != want {
			t.Errorf("ValidEventID(%q) = %v", id, got)
		}
	}
}
