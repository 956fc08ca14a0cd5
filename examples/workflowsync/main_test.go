package main

import (
	"bytes"
	"os"
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
	if n := strings.Count(got, "announced Sync"); n != 3 {
		t.Errorf("%d sync announcements printed, want 3 (none for the redelivery)", n)
	}
	checkLastAct(t, got)
	checkREADMEQuote(t, got)
	if t.Failed() {
		t.Logf("output:\n%s", got)
	}
}

// checkLastAct checks steps 5 and 6 of the account: the GIS feature renamed
// by hand is found to differ in NAME, announced, repaired (its NAME back),
// and verified in sync in the ledger; the archive that joins is brought
// WF-123 by the first resync, and the second resync skips it without a
// write.
func checkLastAct(t *testing.T, got string) {
	t.Helper()
	_, last, ok := strings.Cut(got, "\n5. Someone edits WF-123 by hand at the GIS partner\n")
	if !ok {
		t.Fatalf("no step 5 in the account:\n%s", got)
	}
	step5, step6, ok := strings.Cut(last, "\n6. A new partner joins: an archive records API\n")
	if !ok {
		t.Fatalf("no step 6 in the account:\n%s", got)
	}
	edited, repaired, ok := strings.Cut(step5, "the layer after the repair:\n")
	if !ok {
		t.Fatalf("step 5 shows no layer after the repair:\n%s", step5)
	}
	for _, c := range []struct{ part, want string }{
		{edited, "            OBJECTID 1 WF-123 ManualReviewEverything starts 2024-09-01\n"},
		{edited, "   announced DriftDetected connector=gis key=WF-123 drift=differs fields=[NAME] version=1718881200000000000\n"},
		{edited, "   announced DriftRepaired connector=gis key=WF-123 drift=differs fields=[NAME] version=1718881200000000000\n"},
		{edited, "   checked=1 inSync=0 differs=1 missing=0 repaired=1 conflicts=0 failed=0\n"},
		{repaired, "  gis       1 feature(s)\n            OBJECTID 1 WF-123 AutoApproveLowRisk starts 2024-09-01\n"},
		{repaired, "   a second check finds it in sync: checked=1 inSync=1 differs=0\n"},
		{repaired, "   Holding(gis, WF-123): version 1718881200000000000 (2024-06-20T11:00:00Z, event evt-3), verified, drift in-sync\n"},
		{step6, "  archive   0 record(s), 0 write(s) so far\n"},
		{step6, "   resync archive: events=1/1 pushed=1 skipped=0 failed=0\n" +
			"  archive   1 record(s), 1 write(s) so far\n" +
			`            /records/WF-123 {"workflowId":"WF-123","name":"AutoApproveLowRisk","startDate":"2024-09-01"}` + "\n"},
		{step6, "   resync archive: events=1/1 pushed=0 skipped=1 failed=0\n" +
			"  archive   1 record(s), 1 write(s) so far\n"},
	} {
		if !strings.Contains(c.part, c.want) {
			t.Errorf("last act lacks %q", c.want)
		}
	}
	if strings.Contains(repaired, "ManualReviewEverything") {
		t.Errorf("the hand edit is still there after the repair:\n%s", repaired)
	}
}

// checkREADMEQuote checks that the README quotes the last act as the
// example prints it.
func checkREADMEQuote(t *testing.T, got string) {
	t.Helper()
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	i := strings.Index(got, "5. Someone edits")
	if i < 0 {
		t.Fatal("no step 5 in the account")
	}
	if !strings.Contains(string(readme), got[i:]) {
		t.Errorf("README.md does not quote steps 5 and 6 as the example prints them:\n%s", got[i:])
	}
}
