package main

import (
	"bytes"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hmsplatform/synclayer/examples/internal/demotest"
	"github.com/hmsplatform/synclayer/internal/testproc"
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

// The account shows every step (demotest.CheckAccount): the first push
// announced, the redelivery all duplicates, the newer version in each
// partner's one record, the records API retried through its 503s, the hand
// edit at the GIS layer detected (NAME differs) and repaired, and the
// archive that joins brought WF-123 by a resync that a second resync finds
// nothing left to push.
func TestAccount(t *testing.T) {
	t.Chdir("../..")
	demotest.CheckAccount(t, account(t))
}

// The configuration prints, line for line, the account that
// examples/workflowsync prints with its partners and mappings written in
// Go.
func TestAccountMatchesWorkflowSync(t *testing.T) {
	t.Chdir("../..")
	bin := filepath.Join(t.TempDir(), "workflowsync")
	testproc.Build(t, bin, "./examples/workflowsync")
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
