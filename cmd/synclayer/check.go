package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/config"
)

// eventFiles collects repeated -event flags.
type eventFiles []string

func (e *eventFiles) String() string     { return fmt.Sprint(*e) }
func (e *eventFiles) Set(v string) error { *e = append(*e, v); return nil }

// checkCommand validates a configuration and prints, for each sample
// event, the record each partner would receive. Nothing is sent and no
// secret is resolved. It exits 1 when the configuration is invalid or a
// mapping fails.
func checkCommand(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	file := fs.String("config", "", "the configuration file (required)")
	var events eventFiles
	fs.Var(&events, "event", "a sample event, a JSON file in the shape of synclayer.Event (repeatable)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *file == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "synclayer check: -config FILE is required, and nothing else")
		return 2
	}
	cfg, err := config.Load(*file)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	fmt.Fprintf(stdout, "%s: %d partner(s), every mapping compiles\n", *file, len(cfg.Partners))
	code := 0
	for _, path := range events {
		ev, err := readEvent(path)
		if err != nil {
			fmt.Fprintf(stderr, "synclayer check: %v\n", err)
			return 1
		}
		fmt.Fprintf(stdout, "\n%s: event %q (%s)\n", path, ev.ID, ev.Type)
		previews := cfg.Preview(ctx, ev)
		if len(previews) == 0 {
			fmt.Fprintln(stdout, "  no partner routes this event type")
		}
		for _, p := range previews {
			b, err := json.MarshalIndent(p, "  ", "  ")
			if err != nil {
				fmt.Fprintf(stderr, "synclayer check: %v\n", err)
				return 1
			}
			fmt.Fprintf(stdout, "  %s\n", b)
			if p.Error != "" {
				code = 1
			}
		}
	}
	return code
}

// readEvent reads a sample event.
func readEvent(path string) (synclayer.Event, error) {
	var ev synclayer.Event
	b, err := os.ReadFile(path)
	if err != nil {
		return ev, fmt.Errorf("event: %w", err)
	}
	if err := json.Unmarshal(b, &ev); err != nil {
		return ev, fmt.Errorf("event %s: %w", path, err)
	}
	if ev.ID == "" || ev.Type == "" {
		return ev, fmt.Errorf("event %s: needs an id and a type", path)
	}
	return ev, nil
}
