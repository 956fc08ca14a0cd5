package testproc

import (
	"os/exec"
	"testing"
)

// Build builds the main package pkg into the executable out, as
// `go build -o out pkg` run in the test's working directory, and fails t
// with go build's output when it fails. It builds with -race when the test
// binary has the race detector on, so that the program is checked as the
// test is, and so that a run of `go test -race` with a cold build cache
// compiles the program's dependencies once, not again without -race.
func Build(t testing.TB, out, pkg string) {
	t.Helper()
	args := []string{"build", "-o", out}
	if Race {
		args = append(args, "-race")
	}
	if b, err := exec.Command("go", append(args, pkg)...).CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, b)
	}
}
