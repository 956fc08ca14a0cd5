package synclayer_test

import (
	"context"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/hmsplatform/synclayer"
)

// A connector's panic value reaches the route's error whole up to 1024
// bytes, and cut at a rune boundary past that.
func TestConnectorPanicTextIsBounded(t *testing.T) {
	const limit = 1024
	for _, c := range []struct {
		name, text, want string
	}{
		{"at the limit", strings.Repeat("a", limit), strings.Repeat("a", limit)},
		{"one past", strings.Repeat("b", limit+1), strings.Repeat("b", limit) + "…"},
		{"inside a rune", strings.Repeat("c", limit-1) + "éé", strings.Repeat("c", limit-1) + "…"},
		{"no rune start at all", strings.Repeat("\x80", limit+1), "…"},
	} {
		t.Run(c.name, func(t *testing.T) {
			reg := synclayer.NewRegistry()
			must(t, reg.Register("p", synclayer.ConnectorFunc(func(context.Context, synclayer.Record) error { panic(c.text) }),
				synclayer.Route("WorkflowDeployed", keyMapper)))
			d := synclayer.NewDispatcher(reg, synclayer.WithObserver(nil))
			_, err := d.Dispatch(t.Context(), event("e1", "K", 0))
			if err == nil {
				t.Fatal("a panicking connector did not fail its route")
			}
			msg := err.Error()
			if !strings.HasSuffix(msg, "in connector: "+c.want) || !utf8.ValidString(msg) {
				t.Fatalf("error ends %q, want it to end with the panic text as %q", msg[max(0, len(msg)-40):], c.want[max(0, len(c.want)-40):])
			}
		})
	}
}
