package synclayer_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/synclayertest"
)

type workflow struct {
	WorkflowID string `json:"workflowId"`
	Name       string `json:"name"`
	StartDate  string `json:"startDate"`
	Revision   int64  `json:"revision"`
}

var workflowMapper = synclayer.MapJSON(func(_ context.Context, ev synclayer.Event, w workflow) (synclayer.Record, error) {
	if w.WorkflowID == "" {
		return synclayer.Record{}, errors.New(`field "workflowId" is required`)
	}
	return synclayer.Record{Key: w.WorkflowID, Version: w.Revision, Payload: w}, nil
})

func TestMapJSON(t *testing.T) {
	for _, tc := range []struct {
		name, data string
		want       string // substring of the error; "" for success
	}{
		{"ok", `{"workflowId":"WF-1","name":"A","startDate":"2024-07-01","extra":true}`, ""},
		{"malformed", `{"workflowId":"WF-1",`, "malformed JSON"},
		{"syntax", `{"workflowId":WF-1}`, "malformed JSON at offset"},
		{"wrong type", `{"workflowId":"WF-1","revision":"three"}`, `field "revision": got JSON string, want int64`},
		{"missing field", `{"name":"A"}`, `field "workflowId" is required`},
		{"empty", ``, "data is empty"},
		{"trailing", `{"workflowId":"WF-1"} {"x":1}`, "trailing content"},
		{"not an object", `[1,2]`, "got JSON array"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec, err := workflowMapper.Map(t.Context(), synclayer.Event{ID: "e", Type: "T", Data: json.RawMessage(tc.data)})
			if tc.want == "" {
				if err != nil || rec.Key != "WF-1" {
					t.Fatalf("got %v, %v", rec, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, synclayer.ErrMapping) || !synclayer.IsPermanent(err) {
				t.Fatalf("err = %v; want a permanent ErrMapping saying %q", err, tc.want)
			}
		})
	}
}

func TestMappingErrorThroughDispatchNamesEverything(t *testing.T) {
	reg := new(synclayer.Registry)
	must(t, reg.Register("records", synclayer.ConnectorFunc(func(context.Context, synclayer.Record) error { return nil }),
		synclayer.Route("WorkflowDeployed", workflowMapper)))
	d := synclayertest.NewDispatcher(t, reg, synclayer.WithObserver(synclayer.NoObserver))
	_, err := d.Dispatch(t.Context(), synclayer.Event{ID: "evt-42", Type: "WorkflowDeployed", Data: json.RawMessage(`{"workflowId":7}`)})
	want := `synclayer: event "evt-42" ("WorkflowDeployed") connector "records": map: mapping failed: field "workflowId": got JSON number, want string`
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v\nwant  %s", err, want)
	}
}

func FuzzMapJSON(f *testing.F) {
	for _, s := range []string{`{"workflowId":"WF-1"}`, `{"workflowId":7}`, `{`, ``, `null`, `{"revision":1e400}`, "{\"name\":\"\xff\"}"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rec, err := workflowMapper.Map(context.Background(), synclayer.Event{ID: "e", Type: "T", Data: data})
		if err != nil {
			if !synclayer.IsPermanent(err) || !errors.Is(err, synclayer.ErrMapping) {
				t.Fatalf("error %v is not a permanent ErrMapping", err)
			}
			return
		}
		if rec.Key == "" {
			t.Fatalf("success without a key for %q", data)
		}
	})
}
