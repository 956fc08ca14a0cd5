package main

import (
	"bytes"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// account runs the example from the module root and returns what it
// printed.
func account(t *testing.T) string {
	t.Helper()
	var out bytes.Buffer
	if err := run(t.Context(), file, &out); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	return out.String()
}

// The account shows every step: the first push announced, the redelivery
// all duplicates, the newer version in each partner's one record, the
// records API retried through its 503s, the hand edit at the GIS layer
// detected (NAME differs) and repaired, and the archive that joins brought
// WF-123 by a resync that a second resync finds nothing left to push.
func TestAccount(t *testing.T) {
	t.Chdir("../..")
	got := account(t)
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
	if t.Failed() {
		t.Logf("account:\n%s", got)
	}
}

// The configuration prints, line for line, the account that
// examples/workflowsync prints with its partners and mappings written in
// Go.
func TestAccountMatchesWorkflowSync(t *testing.T) {
	t.Chdir("../..")
	bin := filepath.Join(t.TempDir(), "workflowsync")
	if out, err := exec.Command("go", "build", "-o", bin, "./examples/workflowsync").CombinedOutput(); err != nil {
		t.Fatalf("build examples/workflowsync: %v\n%s", err, out)
	}
	want, err := exec.CommandContext(t.Context(), bin).Output()
	if err != nil {
		t.Fatalf("examples/workflowsync: %v", err)
	}
	got := account(t)
	if got != string(want) {
		gl, wl := strings.Split(got, "\n"), strings.Split(string(want), "\n")
		for i := range max(len(gl), len(wl)) {
			g, w := line(gl, i), line(wl, i)
			if g != w {
				t.Errorf("line %d differs:\nconfigsync:   %q\nworkflowsync: %q", i+1, g, w)
				break
			}
		}
		t.Logf("configsync:\n%s\nworkflowsync:\n%s", got, want)
	}
}

func line(lines []string, i int) string {
	if i < len(lines) {
		return lines[i]
	}
	return "<end>"
}
