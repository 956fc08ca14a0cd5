package config_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/config"
)

// A whole-record expression that is not a map literal, or a literal with
// a key only the event tells, loads: what it gives is checked for each
// event. A literal that names every required field loads and maps.
func TestWholeRecordCheckedWhenItRuns(t *testing.T) {
	counter := &config.Kind{
		Name:     "counter",
		Settings: func() any { return new(struct{}) },
		Fields:   []config.Field{{Name: "count", Type: config.Int, Required: true}},
		New: func(context.Context, *config.Binding, any) (synclayer.Connector, error) {
			return nil, nil
		},
		Payload: func(r config.RecordValue) (any, error) { return r.JSON(), nil },
	}
	at := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	cases := []struct {
		name, kind, record, data, want string
	}{
		{"literal with every required field", "caldav", `'{"summary": event.subject, "start": event.time}'`,
			`{"id": "a"}`, `{"summary":"s","start":"2026-03-01T09:00:00Z"}`},
		{"record from the data", "caldav", `data.record`,
			`{"id": "a", "record": {"summary": "x", "start": "2026-03-01T09:00:00Z"}}`, `record (expression "data.record"): field "start": got string, want timestamp`},
		{"record from the data without a required field", "caldav", `data.record`,
			`{"id": "a", "record": {"summary": "x"}}`, `record field "start" is required`},
		{"literal with a key from the data", "caldav", `'{data.k: "x", "start": event.time}'`,
			`{"id": "a", "k": "summary"}`, `{"summary":"x","start":"2026-03-01T09:00:00Z"}`},
		{"literal with a key from the data, not the required one", "caldav", `'{data.k: "x", "start": event.time}'`,
			`{"id": "a", "k": "location"}`, `record field "summary" is required`},
		{"literal of a uint for an int field", "counter", `'{"count": 7u}'`,
			`{"id": "a"}`, `{"count":7}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			settings := `{}`
			if tc.kind == "caldav" {
				settings = `{collectionUrl: "https://dav.example/c/"}`
			}
			src := `
partners:
  - name: p
    kind: ` + tc.kind + `
    settings: ` + settings + `
    routes:
      A:
        key: data.id
        record: ` + tc.record + `
`
			cfg, err := config.Parse("whole.yaml", []byte(src), config.WithKind(counter))
			if err != nil {
				t.Fatal(err)
			}
			pv := cfg.Preview(context.Background(), synclayer.Event{ID: "e", Type: "A", Subject: "s", Time: at, Data: []byte(tc.data)})
			if len(pv) != 1 {
				t.Fatalf("%d previews", len(pv))
			}
			if strings.HasPrefix(tc.want, "{") {
				b, _ := json.Marshal(pv[0].Record)
				if pv[0].Error != "" || string(b) != tc.want {
					t.Errorf("record %s (error %q), want %s", b, pv[0].Error, tc.want)
				}
			} else if !strings.Contains(pv[0].Error, tc.want) {
				t.Errorf("error %q does not say %q", pv[0].Error, tc.want)
			}
		})
	}
}
