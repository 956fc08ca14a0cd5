package cloudevents_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"maps"
	"testing"
	"unicode/utf8"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/internal/cloudevents"
)

// sameEvent reports how a and b differ ("" when they do not): Time by
// instant, Data by its compact JSON, an empty Meta as nil.
func sameEvent(a, b synclayer.Event) string {
	switch {
	case a.ID != b.ID:
		return "id"
	case a.Type != b.Type:
		return "type"
	case a.Source != b.Source:
		return "source"
	case a.Subject != b.Subject:
		return "subject"
	case !a.Time.Equal(b.Time):
		return "time"
	case !maps.Equal(a.Meta, b.Meta):
		return "meta"
	}
	var ca, cb bytes.Buffer
	if len(a.Data) != len(b.Data) || len(a.Data) > 0 {
		if json.Compact(&ca, a.Data) != nil || json.Compact(&cb, b.Data) != nil || !bytes.Equal(ca.Bytes(), cb.Bytes()) {
			return "data"
		}
	}
	return ""
}

// utf8Event reports whether every string of ev is valid UTF-8.
func utf8Event(ev synclayer.Event) bool {
	for _, s := range []string{ev.ID, ev.Type, ev.Source, ev.Subject} {
		if !utf8.ValidString(s) {
			return false
		}
	}
	for k, v := range ev.Meta {
		if !utf8.ValidString(k) || !utf8.ValidString(v) {
			return false
		}
	}
	return true
}

// checkDecoded checks one Decode result: an error wraps ErrInvalid; an
// event has an ID and a Type and JSON data, and survives a round trip
// through Marshal (structured) and Binary unchanged.
func checkDecoded(t *testing.T, ev synclayer.Event, err error) {
	t.Helper()
	if err != nil {
		if !errors.Is(err, cloudevents.ErrInvalid) {
			t.Fatalf("error %v does not wrap ErrInvalid", err)
		}
		return
	}
	if ev.ID == "" || ev.Type == "" {
		t.Fatalf("decoded an event without ID or Type: %+v", ev)
	}
	if len(ev.Data) > 0 && !json.Valid(ev.Data) {
		t.Fatalf("decoded Data is not JSON: %q", ev.Data)
	}
	if !utf8Event(ev) {
		// Encoding the event as JSON would turn each bad byte into U+FFFD,
		// so its ID or Meta would change on the way back.
		t.Fatalf("Decode accepted attributes that are not valid UTF-8: %+v", ev)
	}
	b, err := cloudevents.Marshal(ev)
	if err != nil {
		t.Fatalf("Marshal of a decoded event: %v (%+v)", err, ev)
	}
	again, err := cloudevents.Decode(b, nil)
	if err != nil {
		t.Fatalf("Decode(Marshal(ev)): %v\n%s", err, b)
	}
	if diff := sameEvent(ev, again); diff != "" {
		t.Fatalf("structured round trip changed the %s:\n%+v\n%+v\n%s", diff, ev, again, b)
	}
	h, body, err := cloudevents.Binary(ev)
	if err != nil {
		t.Fatalf("Binary of a decoded event: %v", err)
	}
	again, err = cloudevents.Decode(body, cloudevents.Headers(h))
	if err != nil {
		t.Fatalf("Decode(Binary(ev)): %v\n%v %s", err, h, body)
	}
	if diff := sameEvent(ev, again); diff != "" {
		t.Fatalf("binary round trip changed the %s:\n%+v\n%+v", diff, ev, again)
	}
}

// FuzzDecodeStructured decodes arbitrary structured-mode bodies.
func FuzzDecodeStructured(f *testing.F) {
	for _, s := range []string{
		`{"specversion":"1.0","id":"e1","type":"WorkflowDeployed","source":"hms","time":"2026-03-10T12:00:00.5+01:00","data":{"k":1}}`,
		`{"specversion":"1.0","id":"e2","type":"T","datacontenttype":"application/json","data_base64":"eyJrIjoxfQ=="}`,
		`{"id":"e3","type":"T","traceparent":"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01","synclayermeta":"{\"X-Key\":\"v\"}"}`,
		`{"specversion":"0.3","id":"e4","type":"T"}`,
		`{"specversion":"1.0","id":"e5","type":"T","data":"not json object","datacontenttype":"text/plain"}`,
		`{"specversion":"1.0","id":"","type":"T"}`,
		`[]`, `null`, `{"id":1,"type":"T"}`, "{\"id\":\"\xff\",\"type\":\"T\"}", `{"id":"e\u0000","type":"T"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		ev, err := cloudevents.Decode(body, nil)
		checkDecoded(t, ev, err)
	})
}

// FuzzDecodeBinary decodes arbitrary binary-mode messages.
func FuzzDecodeBinary(f *testing.F) {
	f.Add("1.0", "e1", "T", "2026-03-10T12:00:00Z", "application/json", "traceparent", "00-ab-cd-01", []byte(`{"k":1}`))
	f.Add("1.0", "e2", "T", "", "", "synclayermeta", `{"X-Key":"v"}`, []byte(nil))
	f.Add("1.0", "e3", "T", "yesterday", "text/plain", "x", "y", []byte("hello"))
	f.Add("1.0", "e4", "", "", "application/json", "id", "e5", []byte(`1`))
	f.Fuzz(func(t *testing.T, spec, id, typ, tm, ctype, ext, extVal string, body []byte) {
		h := map[string]string{"ce-specversion": spec, "ce-id": id, "ce-type": typ}
		if tm != "" {
			h["ce-time"] = tm
		}
		if ctype != "" {
			h["content-type"] = ctype
		}
		if ext != "" {
			h["ce-"+ext] = extVal
		}
		ev, err := cloudevents.Decode(body, cloudevents.Headers(h))
		checkDecoded(t, ev, err)
	})
}
