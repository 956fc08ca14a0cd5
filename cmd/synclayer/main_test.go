package main

import (
	"bytes"
	"context"
	"flag"
	"os"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// The check of the central use case's configuration prints the three
// records, exactly as the golden file holds them.
func TestCheckGolden(t *testing.T) {
	t.Chdir("../..")
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"check", "-config", "examples/workflowsync/sync.yaml",
		"-event", "examples/workflowsync/testdata/workflow-deployed.json"}, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	const golden = "examples/workflowsync/testdata/check.golden"
	if *update {
		if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if out.String() != string(want) {
		t.Errorf("check output differs from %s:\n%s", golden, out.String())
	}
	for _, s := range []string{`"summary": "New Workflow: AutoApproveLowRisk"`, `"description": "ID: WF-123"`, `"start": "2024-07-01T00:00:00Z"`, `"partner": "gis"`, `"partner": "records"`} {
		if !strings.Contains(out.String(), s) {
			t.Errorf("output lacks %s", s)
		}
	}
}

// A broken configuration fails check with its place in the file.
func TestCheckReportsErrors(t *testing.T) {
	dir := t.TempDir()
	path := dir + "/bad.yaml"
	src := "partners:\n  - name: r\n    kind: rest\n    settings: {baseUrl: \"http://x\"}\n    routes: {A: {key: 'data.id +', record: data}}\n"
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"check", "-config", path}, &out, &errb); code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	if !strings.Contains(errb.String(), "bad.yaml:5:") || !strings.Contains(errb.String(), "partners[0].routes.A.key") {
		t.Errorf("error does not name the place: %s", errb.String())
	}
}

func TestVersion(t *testing.T) {
	var out bytes.Buffer
	if code := run(context.Background(), []string{"version"}, &out, &out); code != 0 || !strings.HasPrefix(out.String(), "synclayer ") {
		t.Errorf("exit %d, output %q", code, out.String())
	}
}
