package config_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/config"
)

// An integer beyond int64 never becomes a double, where two of them would
// collide (18446744073709551616 and ...617 are the same double): in the
// file it is refused at load with its place; in an event's data it is a
// permanent mapping error naming where it is in the data.
func TestIntegersBeyondInt64(t *testing.T) {
	src := restRouteA + `
        key: string(data.id)
        record: {n: 'data.items.map(i, i.n)'}
`
	cfg, err := config.Parse("big.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	m := cfg.Partners[0].Routes[0].Mapping()
	for _, tc := range []struct{ data, where, number string }{
		{`{"id": 18446744073709551616, "items": []}`, "data.id", "18446744073709551616"},
		{`{"id": 1, "items": [{"n": 1}, {"n": -9223372036854775809}]}`, "data.items[1].n", "-9223372036854775809"},
		{`{"id": 1, "items": [], "odd key": {"x": 99999999999999999999}}`, `data["odd key"].x`, "99999999999999999999"},
	} {
		rec, err := m.Map(context.Background(), synclayer.Event{ID: "e", Type: "A", Data: []byte(tc.data)})
		if err == nil || !errors.Is(err, synclayer.ErrMapping) || !synclayer.IsPermanent(err) {
			t.Errorf("%s: got key %q, error %v; want a permanent mapping error", tc.data, rec.Key, err)
			continue
		}
		for _, s := range []string{`partner "r"`, tc.where, tc.number, "int64"} {
			if !strings.Contains(err.Error(), s) {
				t.Errorf("%s: error %q does not name %s", tc.data, err, s)
			}
		}
	}
	// The largest and smallest int64 stay exact ints.
	rec, err := m.Map(context.Background(), synclayer.Event{ID: "e", Type: "A",
		Data: []byte(`{"id": 9223372036854775807, "items": [{"n": -9223372036854775808}, {"n": 1.5}]}`)})
	if err != nil || rec.Key != "9223372036854775807" {
		t.Errorf("int64 bounds: key %q, error %v", rec.Key, err)
	}

	// In the file, such an integer is refused at load with its place.
	bad := strings.Replace(src, "key: string(data.id)", "key: string(18446744073709551616)", 1)
	_, err = config.Parse("big.yaml", []byte(bad))
	var ce *config.Error
	if !errors.As(err, &ce) || ce.Line != 8 || ce.Column != 21 || !strings.Contains(ce.Msg, "integer beyond int64") {
		t.Errorf("an integer beyond int64 in the file: %v", err)
	}
}
