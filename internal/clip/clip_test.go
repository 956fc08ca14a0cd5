package clip_test

import (
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/hmsplatform/synclayer/internal/clip"
)

func TestString(t *testing.T) {
	for _, tc := range []struct {
		in   string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"exact", 5, "exact"},
		{"abcdef", 3, "abc…"},
		{"héllo", 2, "h…"}, // é is two bytes: cutting at 2 would split it
		{"héllo", 3, "hé…"},
		{"日本語", 4, "日…"},
		{"bad\xffbyte", 20, "bad\uFFFDbyte"},
		{"anything", 0, ""},
		{"anything", -1, ""},
		{"", 5, ""},
		{"\xffa\xffb\xffc", 4, "\uFFFDa…"}, // repaired before the cut: never more than n bytes before the ellipsis
	} {
		if got := clip.String(tc.in, tc.n); got != tc.want {
			t.Errorf("String(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
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

func TestPrefix(t *testing.T) {
	for _, tc := range []struct {
		in   string
		n    int
		want string
	}{
		{"héllo", 2, "h"},
		{"héllo", 3, "hé"},
		{"bad\xffbyte", 5, "bad\xffb"}, // invalid bytes are kept for %q to show
		{"abc", 10, "abc"},
		{"abc", 0, ""},
	} {
		if got := clip.Prefix(tc.in, tc.n); got != tc.want {
			t.Errorf("Prefix(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
	}
}
