package clip_test

import (
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/hmsplatform/synclayer/internal/clip"
)

// TestCut is the table of both cuts: String, which repairs, cuts on a
// character boundary and marks the cut, and Prefix, which only cuts.
func TestCut(t *testing.T) {
	cuts := map[string]func(string, int) string{"String": clip.String, "Prefix": clip.Prefix}
	for _, tc := range []struct {
		fn   string
		in   string
		n    int
		want string
	}{
		{"String", "short", 10, "short"},
		{"String", "exact", 5, "exact"},
		{"String", "abcdef", 3, "abc…"},
		{"String", "héllo", 2, "h…"}, // é is two bytes: cutting at 2 would split it
		{"String", "héllo", 3, "hé…"},
		{"String", "日本語", 4, "日…"},
		{"String", "bad\xffbyte", 20, "bad\uFFFDbyte"},
		{"String", "anything", 0, ""},
		{"String", "anything", -1, ""},
		{"String", "", 5, ""},
		{"String", "\xffa\xffb\xffc", 4, "\uFFFDa…"}, // repaired before the cut: never more than n bytes before the ellipsis
		{"Prefix", "héllo", 2, "h"},
		{"Prefix", "héllo", 3, "hé"},
		{"Prefix", "bad\xffbyte", 5, "bad\xffb"}, // invalid bytes are kept for %q to show
		{"Prefix", "abc", 10, "abc"},
		{"Prefix", "abc", 0, ""},
	} {
		if got := cuts[tc.fn](tc.in, tc.n); got != tc.want {
			t.Errorf("%s(%q, %d) = %q, want %q", tc.fn, tc.in, tc.n, got, tc.want)
		}
	}
}

func TestStringNeverSplitsARune(t *testing.T) {
	s := strings.Repeat("aé日😀\xff", 50)
	for n := 1; n < len(s)+2; n++ {
		got := clip.String(s, n)
		if !utf8.ValidString(got) {
			t.Fatalf("String(_, %d) = %q is not valid UTF-8", n, got)
		}
		if body := strings.TrimSuffix(got, clip.Ellipsis); len(body) > n {
			t.Fatalf("String(_, %d) kept %d bytes", n, len(body))
		}
	}
}

func ExampleString() {
	fmt.Println(clip.String("partner said: service unavailable", 13))
	// Output: partner said:…
}
