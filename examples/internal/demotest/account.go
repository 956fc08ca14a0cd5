// Package demotest checks the account that examples/workflowsync and
// examples/configsync print (package demo's [demo.Account]), so that both
// commands' tests hold it to the same story.
package demotest

import (
	"strings"
	"testing"
)

// CheckAccount checks got, the whole account a command printed: every
// step, from the first push announced, the redelivery all duplicates, the
// newer version in each partner's one record and the records API retried
// through its 503s, to the last act (checkLastAct). It logs the account
// if anything is missing.
func CheckAccount(t *testing.T, got string) {
	t.Helper()
	for _, want := range []string{
		"   calendar  WF-123  synced    attempts=1",
		`   announced SyncCompleted (id SyncCompleted:evt-1) with data:`,
		`{"eventId":"evt-1","eventType":"WorkflowDeployed","results":[{"connector":"calendar","key":"WF-123","status":"synced","attempts":1,"durationMs":0}`,
		"   records   WF-123  duplicate attempts=0",
		"  calendar  1 event(s)",
		`WF-123 "New Workflow: AutoApproveLowRisk" 2024-08-01..2024-08-02 (confirmed)`,
		"  gis       1 feature(s)",
		"OBJECTID 1 WF-123 AutoApproveLowRisk starts 2024-08-01",
		"  records   1 record(s), 2 write(s) so far",
		"   records   WF-123  synced    attempts=3",
		"  records   1 record(s), 3 write(s) so far",
		`            /records/WF-123 {"workflowId":"WF-123","name":"AutoApproveLowRisk","startDate":"2024-09-01"}`,
		"            OBJECTID 1 WF-123 ManualReviewEverything starts 2024-09-01",
		"   announced DriftDetected connector=gis key=WF-123 drift=differs fields=[NAME] version=1718881200000000000",
		"   announced DriftRepaired connector=gis key=WF-123 drift=differs fields=[NAME] version=1718881200000000000",
		"   the layer after the repair:\n  gis       1 feature(s)\n            OBJECTID 1 WF-123 AutoApproveLowRisk starts 2024-09-01\n",
		"   Holding(gis, WF-123): version 1718881200000000000 (2024-06-20T11:00:00Z, event evt-3), verified, drift in-sync",
		"   resync archive: events=1/1 pushed=1 skipped=0 failed=0\n  archive   1 record(s), 1 write(s) so far\n" +
			`            /records/WF-123 {"workflowId":"WF-123","name":"AutoApproveLowRisk","startDate":"2024-09-01"}`,
		"   resync archive: events=1/1 pushed=0 skipped=1 failed=0\n  archive   1 record(s), 1 write(s) so far\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("account lacks %q", want)
		}
	}
	if n := strings.Count(got, " duplicate "); n != 3 {
		t.Errorf("%d duplicates on redelivery, want 3", n)
	}
	if n := strings.Count(got, "announced Sync"); n != 3 {
		t.Errorf("%d sync announcements printed, want 3 (none for the redelivery)", n)
	}
	checkLastAct(t, got)
	if t.Failed() {
		t.Logf("account:\n%s", got)
	}
}
