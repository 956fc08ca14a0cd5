package config_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/config"
)

// routeA compiles a rest route of events of type A from its settings
// (indented by 8) and returns its mapping.
func routeA(t *testing.T, settings string) *config.Mapping {
	t.Helper()
	cfg, err := config.Parse("big.yaml", []byte(restRouteA+settings))
	if err != nil {
		t.Fatal(err)
	}
	return cfg.Partners[0].Routes[0].Mapping()
}

func mapA(m *config.Mapping, data string) (synclayer.Record, error) {
	return m.Map(context.Background(), synclayer.Event{ID: "e", Type: "A", Data: []byte(data)})
}

// sent maps an event of data through m and returns the record's key and
// its payload as JSON; ok is false, after an error is reported, when the
// mapping failed.
func sent(t *testing.T, m *config.Mapping, data string) (key, body string, ok bool) {
	t.Helper()
	rec, err := mapA(m, data)
	if err != nil {
		t.Errorf("%s: %v", data, err)
		return "", "", false
	}
	b, err := json.Marshal(rec.Payload)
	if err != nil {
		t.Errorf("%s: the record does not encode: %v", data, err)
		return "", "", false
	}
	return rec.Key, string(b), true
}

// A number in a field no expression reads never fails the event, however
// large: a checksum of uint64 max, JavaScript's JSON.stringify(1e20), an
// integer beyond int64 and uint64 both.
func TestUnreadBigNumberDoesNotFailTheEvent(t *testing.T) {
	m := routeA(t, `
        key: string(data.id)
        record: {name: data.name}
`)
	for _, big := range []string{
		"18446744073709551615",
		"9223372036854775808",
		"100000000000000000000",
		"-9223372036854775809",
		"99999999999999999999999999999999",
		"1e20",
		"100000000000000000000.0",
	} {
		rec, err := mapA(m, `{"id": 1, "name": "a", "checksum": `+big+`, "items": [{"n": `+big+`}]}`)
		if err != nil {
			t.Errorf("%s: %v", big, err)
			continue
		}
		if body, _ := json.Marshal(rec.Payload); rec.Key != "1" || string(body) != `{"name":"a"}` {
			t.Errorf("%s: key %q, record %s", big, rec.Key, body)
		}
	}
}

// An integer beyond both int64 and uint64 never becomes a double, where
// two of them would collide (18446744073709551616 and ...617 are the same
// double): an expression that reads it fails with a permanent mapping
// error naming its place in the data, and so does a record of the whole
// data, which reads everything.
func TestReadIntegerBeyondUint64FailsWithItsPlace(t *testing.T) {
	for _, tc := range []struct{ name, settings, data, where, number string }{
		{"key", `
        key: string(data.id)
        record: {name: '"a"'}
`, `{"id": 18446744073709551616}`, "data.id", "18446744073709551616"},
		{"field over a list", `
        key: '"k"'
        record: {n: 'data.items.map(i, i.n)'}
`, `{"items": [{"n": 1}, {"n": -9223372036854775809}]}`, "data.items[1].n", "-9223372036854775809"},
		{"whole record", `
        key: '"k"'
        record: data
`, `{"a": 1, "odd key": {"x": [0, 99999999999999999999999]}}`, `data["odd key"].x[1]`, "99999999999999999999999"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec, err := mapA(routeA(t, tc.settings), tc.data)
			if err == nil || !errors.Is(err, synclayer.ErrMapping) || !synclayer.IsPermanent(err) {
				t.Fatalf("got key %q, error %v; want a permanent mapping error", rec.Key, err)
			}
			want := tc.where + ": integer " + tc.number + " is beyond int64 and uint64 (-9223372036854775808 to 18446744073709551615); send such a number as a string"
			if !strings.Contains(err.Error(), `partner "r"`) || !strings.Contains(err.Error(), want) {
				t.Errorf("error %q\nwant it to name the partner and say %q", err, want)
			}
		})
	}
}

// An integer beyond int64 that fits uint64 is a CEL uint, exact to the
// last digit: as a key, and in a record sent as JSON. The int64 bounds
// stay ints.
func TestUint64IntegerKeepsItsDigits(t *testing.T) {
	m := routeA(t, `
        key: string(data.id)
        record: {id: data.id, kind: 'type(data.id) == uint ? "uint" : type(data.id) == int ? "int" : "other"'}
`)
	for _, tc := range []struct{ id, kind string }{
		{"18446744073709551615", "uint"},
		{"18446744073709551614", "uint"},
		{"9223372036854775808", "uint"},
		{"9223372036854775807", "int"},
		{"-9223372036854775808", "int"},
	} {
		key, body, ok := sent(t, m, `{"id": `+tc.id+`}`)
		if want := `{"id":` + tc.id + `,"kind":"` + tc.kind + `"}`; ok && (key != tc.id || body != want) {
			t.Errorf("%s: key %q, record %s; want key %s, record %s", tc.id, key, body, tc.id, want)
		}
	}
}

// A number written with a point or an exponent is a double, however many
// digits it has.
func TestNumberWithPointOrExponentIsADouble(t *testing.T) {
	m := routeA(t, `
        key: 'type(data.v) == double ? "double" : "not a double"'
        record: {v: data.v}
`)
	for _, tc := range []struct{ v, sent string }{
		{"1000000000000000000000e-20", "10"},
		{"100000000000000000000.0", "100000000000000000000"},
		{"12345678901234567890.5", "12345678901234567000"},
		{"1E2", "100"},
		{"0.5", "0.5"},
	} {
		key, body, ok := sent(t, m, `{"v": `+tc.v+`}`)
		if ok && (key != "double" || body != `{"v":`+tc.sent+`}`) {
			t.Errorf("%s: key %q, record %s; want a double sent as %s", tc.v, key, body, tc.sent)
		}
	}
}

// In the file, an integer literal beyond int64 is refused at load with
// its place.
func TestIntegerLiteralBeyondInt64IsRefused(t *testing.T) {
	_, err := config.Parse("big.yaml", []byte(restRouteA+`
        key: string(18446744073709551616)
        record: {name: data.name}
`))
	var ce *config.Error
	if !errors.As(err, &ce) || ce.Line != 8 || ce.Column != 21 || !strings.Contains(ce.Msg, "integer beyond int64") {
		t.Errorf("an integer beyond int64 in the file: %v", err)
	}
}
