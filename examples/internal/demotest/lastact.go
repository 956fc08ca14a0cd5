package demotest

import (
	"strings"
	"testing"
)

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
