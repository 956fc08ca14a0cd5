package main

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/hmsplatform/synclayer/examples/internal/demotest"
)

// The example runs end to end against its loopback partners and tells the
// story the README promises.
func TestWorkflowSyncAccount(t *testing.T) {
	var out bytes.Buffer
	if err := run(t.Context(), &out); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	got := out.String()
	demotest.CheckAccount(t, got)
	checkREADMEQuote(t, got)
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
