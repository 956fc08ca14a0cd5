package main

import (
	"bytes"
	"strings"
	"testing"
)

// The example runs end to end against its loopback partners and tells the
// story the README promises.
func TestWorkflowSyncAccount(t *testing.T) {
	var out bytes.Buffer
	if err := run(t.Context(), &out); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	got := out.String()
	for _, want := range []string{
		"calendar  WF-123  synced    attempts=1",
		`announced SyncCompleted (id SyncCompleted:evt-1) with data:`,
		`{"eventId":"evt-1","eventType":"WorkflowDeployed","results":[{"connector":"calendar","key":"WF-123","status":"synced","attempts":1,"durationMs":0}`,
		"records   WF-123  duplicate attempts=0",
		"calendar  1 event(s)",
		`WF-123 "New Workflow: AutoApproveLowRisk" 2024-08-01..2024-08-02 (confirmed)`,
		"gis       1 feature(s)",
		"OBJECTID 1 WF-123 AutoApproveLowRisk starts 2024-08-01",
		"records   1 record(s), 2 write(s) so far",
		"records   WF-123  synced    attempts=3",
		"records   1 record(s), 3 write(s) so far",
		`"startDate":"2024-09-01"`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if n := strings.Count(got, "announced"); n != 3 {
		t.Errorf("%d announcements printed, want 3 (none for the redelivery)", n)
	}
	if t.Failed() {
		t.Logf("output:\n%s", got)
	}
}
