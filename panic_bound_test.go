package synclayer_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/synclayertest"
)

// A connector's panic value is kept, for the local log, whole up to 1024
// bytes and cut at a rune boundary past that; the error text names only
// its type.
func TestConnectorPanicTextIsBounded(t *testing.T) {
	const limit = 1024
	for _, c := range []struct {
		name, text, want string
	}{
		{"at the limit", strings.Repeat("a", limit), strings.Repeat("a", limit)},
		{"one past", strings.Repeat("b", limit+1), strings.Repeat("b", limit) + "…"},
		{"inside a rune", strings.Repeat("c", limit-1) + "éé", strings.Repeat("c", limit-1) + "…"},
		{"no rune start at all", strings.Repeat("\x80", limit+1), "\uFFFD"}, // invalid bytes become one U+FFFD
	} {
		t.Run(c.name, func(t *testing.T) {
			reg := new(synclayer.Registry)
			must(t, reg.Register("p", synclayer.ConnectorFunc(func(context.Context, synclayer.Record) error { panic(c.text) }),
				synclayer.Route("WorkflowDeployed", keyMapper)))
			d := synclayertest.NewDispatcher(t, reg, synclayer.WithObserver(synclayer.NoObserver))
			_, err := d.Dispatch(t.Context(), event("e1", "K", 0))
			if err == nil {
				t.Fatal("a panicking connector did not fail its route")
			}
			var pe *synclayer.PanicError
			if !errors.As(err, &pe) {
				t.Fatalf("error %v has no PanicError", err)
			}
			if pe.Value != c.want || !utf8.ValidString(pe.Value) {
				t.Fatalf("panic value ends %q, want %q", pe.Value[max(0, len(pe.Value)-40):], c.want[max(0, len(c.want)-40):])
			}
			if !strings.HasSuffix(err.Error(), "panic recovered in connector (value of type string)") {
				t.Fatalf("error %q", err)
			}
		})
	}
}
