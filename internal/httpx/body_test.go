package httpx

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/hmsplatform/synclayer/connectors/partner"
)

func TestJSONBody(t *testing.T) {
	for _, tc := range []struct {
		name string
		v    any
		want string // the body, or the part of the error if it starts with "!"
	}{
		{"value", map[string]int{"n": 1}, `{"n":1}`},
		{"raw message as it is", json.RawMessage(`{ "n" : 1 }`), `{ "n" : 1 }`},
		{"bytes as they are", []byte(`[1, 2]`), `[1, 2]`},
		{"at the limit", strings.Repeat("x", 14), `"xxxxxxxxxxxxxx"`},
		{"over the limit", strings.Repeat("x", 15), "!17 bytes, over the limit of 16"},
		{"raw over the limit", json.RawMessage(`"` + strings.Repeat("x", 15) + `"`), "!17 bytes, over the limit of 16"},
		{"invalid raw message", json.RawMessage(`{`), "!json.RawMessage is not valid JSON"},
		{"invalid bytes", []byte("nope"), "![]uint8 is not valid JSON"},
		{"typed nil raw message", json.RawMessage(nil), "!json.RawMessage is not valid JSON"},
		{"cannot be encoded", math.NaN(), "!unsupported value: NaN"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := JSONBody(tc.v, 16)
			if want, ok := strings.CutPrefix(tc.want, "!"); ok {
				if !errors.Is(err, partner.ErrPayload) || !strings.Contains(err.Error(), want) {
					t.Fatalf("JSONBody = %q, %v; want an ErrPayload error saying %q", b, err, want)
				}
				return
			}
			if err != nil || string(b) != tc.want {
				t.Fatalf("JSONBody = %q, %v; want %q", b, err, tc.want)
			}
		})
	}
}
