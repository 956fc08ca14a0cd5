package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// The account shows every step and the partners' final records.
func TestAccount(t *testing.T) {
	t.Chdir("../..")
	var out bytes.Buffer
	if err := run(context.Background(), file, &out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"   records   duplicate key WF-123, 0 attempt(s)",
		"   records   synced    key WF-123, 3 attempt(s)",
		`  calendar  WF-123 "New Workflow: AutoApproveLowRisk" 2024-09-01..2024-09-02 "ID: WF-123"`,
		"  gis       OBJECTID 1 WF-123 AutoApproveLowRisk starts 2024-09-01",
		`  records   /records/WF-123 {"workflowId":"WF-123","name":"AutoApproveLowRisk","startDate":"2024-09-01"}`,
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("account lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Count(out.String(), " duplicate ") != 3 {
		t.Errorf("want three duplicates on redelivery:\n%s", out.String())
	}
}
