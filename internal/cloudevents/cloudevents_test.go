package cloudevents

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hmsplatform/synclayer"
)

func sample() synclayer.Event {
	return synclayer.Event{
		ID:      "evt-1",
		Type:    "WorkflowDeployed",
		Source:  "hms/management-layer",
		Subject: "WF-123",
		Time:    time.Date(2026, 3, 10, 9, 30, 0, 123456789, time.UTC),
		Data:    json.RawMessage(`{"name":"Trough \"A\"","n":1}`),
		Meta:    map[string]string{"traceparent": "00-abc-def-01", "correlation-id": "c-9", "Upper": "x", "id": "not-the-id"},
	}
}

func TestStructuredRoundTrip(t *testing.T) {
	for _, ev := range []synclayer.Event{
		sample(),
		{ID: "evt-2", Type: "T"}, // minimal: no source, time, data or meta
	} {
		body, err := Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		if !json.Valid(body) {
			t.Fatalf("Marshal wrote invalid JSON: %s", body)
		}
		got, err := Decode(body, nil)
		if err != nil {
			t.Fatalf("Decode(%s): %v", body, err)
		}
		if diff := cmp.Diff(ev, got); diff != "" {
			t.Errorf("round trip (-want +got):\n%s", diff)
		}
	}
}

func TestStructuredShape(t *testing.T) {
	body, err := Marshal(sample())
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"specversion":     "1.0",
		"id":              "evt-1",
		"type":            "WorkflowDeployed",
		"source":          "hms/management-layer",
		"subject":         "WF-123",
		"time":            "2026-03-10T09:30:00.123456789Z",
		"datacontenttype": "application/json",
		"data":            map[string]any{"name": `Trough "A"`, "n": float64(1)},
		"traceparent":     "00-abc-def-01",
		MetaAttribute:     `{"Upper":"x","correlation-id":"c-9","id":"not-the-id"}`,
	}
	if diff := cmp.Diff(want, m); diff != "" {
		t.Errorf("structured event (-want +got):\n%s", diff)
	}
}

func TestBinaryRoundTrip(t *testing.T) {
	ev := sample()
	h, body, err := Binary(ev)
	if err != nil {
		t.Fatal(err)
	}
	if h["ce-id"] != "evt-1" || h["content-type"] != DataContentType {
		t.Errorf("headers = %v", h)
	}
	got, err := Decode(body, Headers(h))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(ev, got); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
}

func TestDecodeForeign(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		headers map[string]string
		want    synclayer.Event
	}{{
		name: "structured with numeric and boolean extensions",
		body: `{"specversion":"1.0","id":"a","type":"T","source":"/s","data":[1,2],"count":3,"flag":true}`,
		want: synclayer.Event{ID: "a", Type: "T", Source: "/s", Data: json.RawMessage(`[1,2]`), Meta: map[string]string{"count": "3", "flag": "true"}},
	}, {
		name: "structured with data_base64",
		body: `{"specversion":"1.0","id":"b","type":"T","datacontenttype":"application/json","data_base64":"eyJrIjoxfQ=="}`,
		want: synclayer.Event{ID: "b", Type: "T", Data: json.RawMessage(`{"k":1}`)},
	}, {
		name: "plain JSON of a synclayer.Event",
		body: `{"id":"c","type":"T","meta":{"k":"v"}}`,
		want: synclayer.Event{ID: "c", Type: "T", Meta: map[string]string{"k": "v"}},
	}, {
		name:    "binary with Kafka-style ce_ headers in mixed case",
		body:    `{"x":1}`,
		headers: map[string]string{"CE_SpecVersion": "1.0", "ce_id": "d", "Ce_Type": "T", "ce_tenant": "t1", "Content-Type": "application/json; charset=utf-8"},
		want:    synclayer.Event{ID: "d", Type: "T", Data: json.RawMessage(`{"x":1}`), Meta: map[string]string{"tenant": "t1"}},
	}, {
		name:    "structured with a content-type header",
		body:    `{"specversion":"1.0","id":"e","type":"T"}`,
		headers: map[string]string{"content-type": ContentType},
		want:    synclayer.Event{ID: "e", Type: "T"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h = Headers(tt.headers)
			if tt.headers == nil {
				h = nil
			}
			got, err := Decode([]byte(tt.body), h)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestDecodeInvalid(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		headers map[string]string
		why     string
	}{
		{"not JSON", `{"id":`, nil, "not a JSON object"},
		{"JSON array", `[1]`, nil, "not a JSON object"},
		{"no id", `{"specversion":"1.0","type":"T"}`, nil, "no id"},
		{"no type", `{"specversion":"1.0","id":"x"}`, nil, `event "x": no type`},
		{"id not a string", `{"specversion":"1.0","id":5,"type":"T"}`, nil, `attribute "id" is not a string`},
		{"old specversion", `{"specversion":"0.3","id":"x","type":"T"}`, nil, `specversion "0.3" is not supported`},
		{"bad time", `{"specversion":"1.0","id":"x","type":"T","time":"yesterday"}`, nil, `time "yesterday" is not RFC 3339`},
		{"text data", `{"specversion":"1.0","id":"x","type":"T","datacontenttype":"text/plain","data":"hi"}`, nil, "data is not JSON"},
		{"bad base64", `{"specversion":"1.0","id":"x","type":"T","data_base64":"!!"}`, nil, "data_base64"},
		{"bad meta attribute", `{"specversion":"1.0","id":"x","type":"T","synclayermeta":"[1]"}`, nil, "synclayermeta is not a JSON object"},
		{"batch", `[{"id":"x"}]`, map[string]string{"content-type": "application/cloudevents-batch+json"}, "batched mode"},
		{"binary without id", `{}`, map[string]string{"ce-specversion": "1.0", "ce-type": "T"}, "no id"},
		{"binary with non-JSON body", `hello`, map[string]string{"ce-specversion": "1.0", "ce-id": "x", "ce-type": "T", "content-type": "text/plain"}, "data is not JSON"},
		{"binary with a bad UTF-8 id", `{}`, map[string]string{"ce-specversion": "1.0", "ce-id": "x\xff", "ce-type": "T"}, `attribute "id" is not valid UTF-8`},
		{"binary with a bad UTF-8 extension", `{}`, map[string]string{"ce-specversion": "1.0", "ce-id": "x", "ce-type": "T", "ce-k\xfe": "v"}, "is not valid UTF-8"},
		{"binary with invalid JSON body", `{"a":`, map[string]string{"ce-specversion": "1.0", "ce-id": "x", "ce-type": "T"}, "data is not JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decode([]byte(tt.body), Headers(tt.headers))
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
			if !strings.Contains(err.Error(), tt.why) || !strings.HasPrefix(err.Error(), "cloudevents: ") {
				t.Errorf("err = %q, want it to start with \"cloudevents: \" and say %q", err, tt.why)
			}
		})
	}
}

func TestMarshalInvalid(t *testing.T) {
	for _, ev := range []synclayer.Event{
		{Type: "T"},
		{ID: "x"},
		{ID: "x", Type: "T", Data: json.RawMessage(`{bad`)},
	} {
		if _, err := Marshal(ev); !errors.Is(err, ErrInvalid) {
			t.Errorf("Marshal(%+v) = %v, want ErrInvalid", ev, err)
		}
		if _, _, err := Binary(ev); !errors.Is(err, ErrInvalid) && ev.Data == nil {
			t.Errorf("Binary(%+v) = %v, want ErrInvalid", ev, err)
		}
	}
}

func BenchmarkMarshal(b *testing.B) {
	ev := sample()
	for b.Loop() {
		if _, err := Marshal(ev); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecode(b *testing.B) {
	body, _ := Marshal(sample())
	for b.Loop() {
		if _, err := Decode(body, nil); err != nil {
			b.Fatal(err)
		}
	}
}
