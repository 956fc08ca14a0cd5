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
// all duplicates, the newer version in each partner's one record, and the
// records API retried through its 503s.
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
	} {
		if !strings.Contains(got, want) {
			t.Errorf("account lacks %q", want)
		}
	}
	if n := strings.Count(got, " duplicate "); n != 3 {
		t.Errorf("%d duplicates on redelivery, want 3", n)
	}
	if n := strings.Count(got, "announced"); n != 3 {
		t.Errorf("%d announcements printed, want 3 (none for the redelivery)", n)
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
