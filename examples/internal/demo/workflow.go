package demo

import (
	"context"
	"encoding/json"
	"time"

	"github.com/hmsplatform/synclayer"
)

// WorkflowDeployed is the Data of the platform's WorkflowDeployed event.
type WorkflowDeployed struct {
	WorkflowID string `json:"workflowId"`
	Name       string `json:"name"`
	StartDate  string `json:"startDate"` // yyyy-mm-dd
}

// Deployed returns the WorkflowDeployed event id of w at time at (the
// records' version: an older event arriving late never overwrites a newer
// one).
func Deployed(id string, at time.Time, w WorkflowDeployed) synclayer.Event {
	data, _ := json.Marshal(w) // strings only: cannot fail
	return synclayer.Event{ID: id, Type: "WorkflowDeployed", Source: "hms/management-layer", Subject: w.WorkflowID, Time: at, Data: data}
}

// ToRecord maps WorkflowDeployed for a records API: the document is the
// event's data, the key the workflow's ID, the version the event time.
// Use it with [synclayer.MapJSON].
func ToRecord(_ context.Context, ev synclayer.Event, w WorkflowDeployed) (synclayer.Record, error) {
	return synclayer.Record{Key: w.WorkflowID, Version: ev.Time.UnixNano(), Payload: w}, nil
}
