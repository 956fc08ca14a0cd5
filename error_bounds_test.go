package synclayer_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/hmsplatform/synclayer"
)

// An error repeats an identifier whole up to 256 bytes, and cuts a longer
// one at a rune boundary, saying how long it was.
func TestSyncErrorBoundsIdentifiers(t *testing.T) {
	const limit = 256
	for _, c := range []struct {
		name, id string
		want     string // what the message must hold
		whole    bool
	}{
		{"at the limit", strings.Repeat("a", limit), `"` + strings.Repeat("a", limit) + `"`, true},
		{"one past", strings.Repeat("b", limit+1), `"` + strings.Repeat("b", limit) + `"…(257 bytes)`, false},
		// "é" is two bytes; the 256th byte is inside the second-to-last
		// one, so the cut goes back to its start.
		{"inside a rune", strings.Repeat("c", limit-1) + "éé", `"` + strings.Repeat("c", limit-1) + `"…(259 bytes)`, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			msg := (&synclayer.SyncError{EventID: c.id, Connector: "p", Op: "sync"}).Error()
			if !strings.Contains(msg, c.want) {
				t.Fatalf("message %q\ndoes not hold %q", msg, c.want)
			}
			if !utf8.ValidString(msg) {
				t.Fatalf("message %q is not valid UTF-8", msg)
			}
			if cut := strings.Contains(msg, "…"); cut == c.whole {
				t.Fatalf("message %q: cut %v, want %v", msg, cut, !c.whole)
			}
		})
	}
}
