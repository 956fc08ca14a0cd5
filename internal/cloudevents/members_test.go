package cloudevents

import (
	"encoding/json"
	"testing"
)

var memberSeeds = []string{
	`{}`,
	` { } `,
	"{\n\t\"id\" :\r\n \"a\" ,\"type\":\"T\"\n}\n",
	`{"id":"a","data":{"s":"}]\"{[","n":[1,{"x":"]"}],"e":{}},"b":true,"z":null,"f":-1.5e3}`,
	`{"k\u0065y":"v","id":"x\"y\\z"}`,
	`{"id":"a","id":"b"}`,
	`{"data":[],"x":[[[]]],"s":"\\"}`,
	`[1,2]`, `"s"`, `12`, `null`, `{"a":`, `{"a" 1}`, ``, `{"a":1}x`,
}

// members agrees with encoding/json on every input: the same members, or
// both refuse.
func TestMembersAgreesWithEncodingJSON(t *testing.T) {
	for _, s := range memberSeeds {
		checkMembers(t, s)
	}
}

func FuzzMembers(f *testing.F) {
	for _, s := range memberSeeds {
		f.Add(s)
	}
	f.Fuzz(checkMembers)
}

func checkMembers(t *testing.T, s string) {
	var want map[string]json.RawMessage
	werr := json.Unmarshal([]byte(s), &want)
	got, gerr := members([]byte(s))
	if (werr != nil) != (gerr != nil) {
		// encoding/json decodes "null" into a nil map without error; members
		// wants an object.
		if s == "null" && gerr != nil {
			return
		}
		t.Fatalf("members(%q) error %v, encoding/json %v", s, gerr, werr)
	}
	if werr != nil {
		return
	}
	if len(got) != len(want) {
		t.Fatalf("members(%q) = %d members, want %d", s, len(got), len(want))
	}
	for k, v := range want {
		if string(got[k]) != string(v) {
			t.Errorf("members(%q)[%q] = %s, want %s", s, k, got[k], v)
		}
	}
}

// Decode never panics, and whatever it accepts is an event with an id and
// a type that Marshal can write again.
func FuzzDecode(f *testing.F) {
	for _, s := range memberSeeds {
		f.Add(s)
	}
	f.Add(`{"specversion":"1.0","id":"a","type":"T","time":"2026-01-01T00:00:00Z","data_base64":"e30=","x":1,"synclayermeta":"{\"k\":\"v\"}"}`)
	f.Fuzz(func(t *testing.T, s string) {
		ev, err := Decode([]byte(s), nil)
		if err != nil {
			return
		}
		if ev.ID == "" || ev.Type == "" {
			t.Fatalf("Decode(%q) accepted an event without id or type: %+v", s, ev)
		}
		if _, err := Marshal(ev); err != nil {
			t.Fatalf("Decode(%q) = %+v, which Marshal refuses: %v", s, ev, err)
		}
	})
}
