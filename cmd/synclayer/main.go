// Command synclayer runs a synclayer configuration (see package config):
//
//	synclayer run -config FILE                       consume, push, announce, serve health, metrics and the monitor
//	synclayer check -config FILE [-event EVENT.json ...]   validate, compile, print what each partner would receive
//	synclayer version                                print the version
//
// run logs JSON through log/slog to standard error, serves /healthz,
// /readyz and /metrics (Prometheus text) on http.addr, and on SIGTERM or
// SIGINT stops consuming, lets in-flight pushes finish within the drain
// timeout, and exits 0.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=v1.2.3";
// otherwise the module version of the build is used.
var version = ""

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

const usage = `usage:
  synclayer run -config FILE
  synclayer check -config FILE [-event EVENT.json ...]
  synclayer version
`

// run runs one command and returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "run":
		return runCommand(ctx, args[1:], stdout, stderr)
	case "check":
		return checkCommand(ctx, args[1:], stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "synclayer", versionString())
		return 0
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "synclayer: unknown command %q\n%s", args[0], usage)
	return 2
}

func versionString() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
}
