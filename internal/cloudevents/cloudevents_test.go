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

// TestDecode is the table of Decode's inputs: events from other
// producers (structured, binary, plain JSON) and what it rejects, each with
// ErrInvalid and a reason.
func TestDecode(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		headers map[string]string
		want    synclayer.Event
		why     string // the reason an invalid input is rejected with; "" for a valid one
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
	}, {
		name: "not JSON",
		body: `{"id":`,
		why:  "not a JSON object",
	}, {
		name: "JSON array",
		body: `[1]`,
		why:  "not a JSON object",
	}, {
		name: "no id",
		body: `{"specversion":"1.0","type":"T"}`,
		why:  "no id",
	}, {
		name: "no type",
		body: `{"specversion":"1.0","id":"x"}`,
		why:  `event "x": no type`,
	}, {
		name: "id not a string",
		body: `{"specversion":"1.0","id":5,"type":"T"}`,
		why:  `attribute "id" is not a string`,
	}, {
		name: "old specversion",
		body: `{"specversion":"0.3","id":"x","type":"T"}`,
		why:  `specversion "0.3" is not supported`,
	}, {
		name: "bad time",
		body: `{"specversion":"1.0","id":"x","type":"T","time":"yesterday"}`,
		why:  `time "yesterday" is not RFC 3339`,
	}, {
		name: "text data",
		body: `{"specversion":"1.0","id":"x","type":"T","datacontenttype":"text/plain","data":"hi"}`,
		why:  "data is not JSON",
	}, {
		name: "bad base64",
		body: `{"specversion":"1.0","id":"x","type":"T","data_base64":"!!"}`,
		why:  "data_base64",
	}, {
		name: "bad meta attribute",
		body: `{"specversion":"1.0","id":"x","type":"T","synclayermeta":"[1]"}`,
		why:  "synclayermeta is not a JSON object",
	}, {
		name:    "batch",
		body:    `[{"id":"x"}]`,
		headers: map[string]string{"content-type": "application/cloudevents-batch+json"},
		why:     "batched mode",
	}, {
		name:    "binary without id",
		body:    `{}`,
		headers: map[string]string{"ce-specversion": "1.0", "ce-type": "T"},
		why:     "no id",
	}, {
		name:    "binary with non-JSON body",
		body:    `hello`,
		headers: map[string]string{"ce-specversion": "1.0", "ce-id": "x", "ce-type": "T", "content-type": "text/plain"},
		why:     "data is not JSON",
	}, {
		name:    "binary with a bad UTF-8 id",
		body:    `{}`,
		headers: map[string]string{"ce-specversion": "1.0", "ce-id": "x\xff", "ce-type": "T"},
		why:     `attribute "id" is not valid UTF-8`,
	}, {
		name:    "binary with a bad UTF-8 extension",
		body:    `{}`,
		headers: map[string]string{"ce-specversion": "1.0", "ce-id": "x", "ce-type": "T", "ce-k\xfe": "v"},
		why:     "is not valid UTF-8",
	}, {
		name:    "binary with invalid JSON body",
		body:    `{"a":`,
		headers: map[string]string{"ce-specversion": "1.0", "ce-id": "x", "ce-type": "T"},
		why:     "data is not JSON",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h = Headers(tt.headers)
			if tt.headers == nil {
				h = nil
			}
			got, err := Decode([]byte(tt.body), h)
			if tt.why != "" {
				if !errors.Is(err, ErrInvalid) {
					t.Fatalf("err = %v, want ErrInvalid", err)
				}
				if !strings.Contains(err.Error(), tt.why) || !strings.HasPrefix(err.Error(), "cloudevents: ") {
					t.Errorf("err = %q, want it to start with \"cloudevents: \" and say %q", err, tt.why)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
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
