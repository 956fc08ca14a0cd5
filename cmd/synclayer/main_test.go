package main

import (
	"bytes"
	"context"
	"flag"
	"io"
	"os"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// The check of the central use case's configuration prints the three
// records, exactly as the golden file holds them. It resolves no
// reference: the partner addresses and the GIS token are unset here, as
// they are in CI.
func TestCheckGolden(t *testing.T) {
	for _, name := range []string{"CALENDAR_ENDPOINT", "GIS_LAYER_URL", "RECORDS_URL", "GIS_TOKEN"} {
		t.Setenv(name, "") // empty is unset for a reference
	}
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

// run resolves the partner addresses of the central use case's
// configuration from the environment: with one unset it exits 1 naming
// the file, the place, the setting and the partner; with all set it
// builds, and exits 0 once stopped.
func TestRunResolvesAddressesFromTheEnvironment(t *testing.T) {
	t.Chdir("../..")
	t.Setenv("CALENDAR_ENDPOINT", "http://127.0.0.1:1/")
	t.Setenv("GIS_LAYER_URL", "http://127.0.0.1:1/arcgis/rest/services/Workflows/FeatureServer/0")
	t.Setenv("GIS_TOKEN", "demo-token")
	t.Setenv("RECORDS_URL", "")
	args := []string{"run", "-config", "examples/workflowsync/sync.yaml"}
	var errb bytes.Buffer
	if code := run(t.Context(), args, io.Discard, &errb); code != 1 {
		t.Fatalf("exit %d with RECORDS_URL unset, want 1:\n%s", code, errb.String())
	}
	want := `config: examples/workflowsync/sync.yaml:58:16: partners[2].settings.baseUrl: partner \"records\": reference ${env:RECORDS_URL} is not resolved: the environment variable is not set`
	if !strings.Contains(errb.String(), want) {
		t.Errorf("log does not say %s:\n%s", want, errb.String())
	}

	t.Setenv("RECORDS_URL", "http://127.0.0.1:1")
	ctx, cancel := context.WithCancel(t.Context())
	cancel() // stop at once: only the build is under test
	errb.Reset()
	if code := run(ctx, args, io.Discard, &errb); code != 0 {
		t.Fatalf("exit %d with every address set, want 0:\n%s", code, errb.String())
	}
	if !strings.Contains(errb.String(), `"msg":"running"`) {
		t.Errorf("the service did not run:\n%s", errb.String())
	}
}
