package config_test

import (
	"context"
	"fmt"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/config"
)

// A configuration's mappings preview what each partner would receive,
// without sending anything.
func ExampleConfig_Preview() {
	cfg, err := config.Parse("sync.yaml", []byte(`
partners:
  - name: records
    kind: rest
    settings: {baseUrl: "https://records.example/api"}
    routes:
      WorkflowDeployed:
        key: data.workflowId
        record:
          id: data.workflowId
          title: '"New Workflow: " + data.name'
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	ev := synclayer.Event{ID: "evt-1", Type: "WorkflowDeployed", Data: []byte(`{"workflowId":"WF-1","name":"Triage"}`)}
	for _, p := range cfg.Preview(context.Background(), ev) {
		fmt.Println(p.Partner, p.Key)
	}
	// Output:
	// records WF-1
}

// Every problem names its file, line, column and field path.
func ExampleParse_errors() {
	_, err := config.Parse("sync.yaml", []byte(`
partners:
  - name: cal
    kind: googlecalendar
    settings: {calendarId: ops}
    routes:
      WorkflowDeployed:
        key: data.workflowId
        record:
          summary: data.name
          start: '"2024-07-01"'
`))
	fmt.Println(err)
	// Output:
	// config: sync.yaml:11:18: partners[0].routes.WorkflowDeployed.record.start: expression gives string, but record field "start" takes timestamp
}
