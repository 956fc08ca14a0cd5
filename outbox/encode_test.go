package outbox

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/hmsplatform/synclayer"
)

// checkEncode: encodeEvent's document decodes to the same event as
// json.Marshal's, and it refuses exactly the events json.Marshal refuses.
func checkEncode(t *testing.T, ev synclayer.Event) {
	t.Helper()
	want, werr := json.Marshal(ev)
	got, gerr := encodeEvent(nil, ev)
	if (werr != nil) != (gerr != nil) {
		t.Fatalf("encodeEvent(%+v) error = %v; json.Marshal error = %v", ev, gerr, werr)
	}
	if werr != nil {
		return
	}
	var a, b synclayer.Event
	if err := json.Unmarshal(got, &a); err != nil {
		t.Fatalf("encodeEvent(%+v) = %s, which does not decode: %v", ev, got, err)
	}
	if err := json.Unmarshal(want, &b); err != nil {
		t.Fatal(err)
	}
	// Data is copied as given where json.Marshal compacts it.
	var ca, cb any
	if len(a.Data) > 0 || len(b.Data) > 0 {
		if json.Unmarshal(a.Data, &ca) != nil || json.Unmarshal(b.Data, &cb) != nil || !reflect.DeepEqual(ca, cb) {
			t.Fatalf("Data: encodeEvent gives %s, json.Marshal %s", a.Data, b.Data)
		}
	}
	a.Data, b.Data = nil, nil
	if !reflect.DeepEqual(a, b) || !a.Time.Equal(b.Time) {
		t.Fatalf("encodeEvent(%+v) decodes to %+v; json.Marshal's output to %+v", ev, a, b)
	}
}

func TestEncodeEvent(t *testing.T) {
	at := time.Date(2024, 7, 1, 12, 30, 45, 123456789, time.FixedZone("X", 2*3600+1800))
	for _, ev := range []synclayer.Event{
		{ID: "a", Type: "T"},
		{ID: "e1", Type: "WorkflowDeployed", Source: "hms/management", Subject: "WF-123", Time: at,
			Data: []byte(`{"workflowId":"WF-123","n":[1,2,{"x":null}]}`), Meta: map[string]string{"traceparent": "00-1-2-01", "k": "v"}},
		{ID: "q\"uo\\te", Type: "T\n\r\t\x00\x1f\x7f", Subject: "<html>&amp;", Source: "\u2028\u2029 é 漢字 😀"},
		{ID: "bad\xff\xfeutf8", Type: "T", Subject: "\xc3", Meta: map[string]string{"\xff": "\x80x"}},
		{ID: "d", Type: "T", Data: []byte(" { \"a\" :\n 1 } ")},
		{ID: "d", Type: "T", Data: []byte("null")},
		{ID: "d", Type: "T", Data: []byte("{not json")},
		{ID: "d", Type: "T", Data: []byte("1 2")},
		{ID: "t", Type: "T", Time: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)},
		{ID: "t", Type: "T", Time: time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC)},
		{ID: "t", Type: "T", Time: time.Date(2024, 1, 1, 0, 0, 0, 0, time.FixedZone("Y", 24*3600))},
		{ID: "t", Type: "T", Time: time.Now()},
		{ID: "m", Type: "T", Meta: map[string]string{}},
		{ID: "m", Type: "T", Data: []byte{}},
	} {
		checkEncode(t, ev)
	}
}

func FuzzEncodeEvent(f *testing.F) {
	f.Add("a", "T", "src", "subj", int64(1719830000123456789), 3600, []byte(`{"a":1}`), "k", "v")
	f.Add("\xff\"\\", "\n\x00", "", "\u2028", int64(0), 0, []byte("nope"), "", "")
	f.Fuzz(func(t *testing.T, id, typ, src, subj string, ns int64, off int, data []byte, mk, mv string) {
		ev := synclayer.Event{ID: id, Type: typ, Source: src, Subject: subj, Data: data}
		if ns != 0 {
			ev.Time = time.Unix(0, ns).In(time.FixedZone("Z", off%(30*3600)))
		}
		if mk != "" || mv != "" {
			ev.Meta = map[string]string{mk: mv}
		}
		checkEncode(t, ev)
	})
}
