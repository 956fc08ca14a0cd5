package cloudevents_test

import (
	"encoding/json"
	"fmt"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/internal/cloudevents"
)

func Example() {
	body, err := cloudevents.Marshal(synclayer.Event{
		ID:   "evt-1",
		Type: "WorkflowDeployed",
		Data: json.RawMessage(`{"id":"WF-123"}`),
		Meta: map[string]string{"traceparent": "00-4bf92f-01"},
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(string(body))

	ev, err := cloudevents.Decode(body, nil)
	fmt.Println(ev.ID, ev.Type, string(ev.Data), ev.Meta["traceparent"], err)

	_, err = cloudevents.Decode([]byte(`{"specversion":"1.0","type":"WorkflowDeployed"}`), nil)
	fmt.Println(err)
	// Output:
	// {"specversion":"1.0","id":"evt-1","type":"WorkflowDeployed","traceparent":"00-4bf92f-01","datacontenttype":"application/json","data":{"id":"WF-123"}}
	// evt-1 WorkflowDeployed {"id":"WF-123"} 00-4bf92f-01 <nil>
	// cloudevents: invalid event: no id (type "WorkflowDeployed")
}
