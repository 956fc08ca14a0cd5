package testproc_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hmsplatform/synclayer/internal/testproc"
	"github.com/hmsplatform/synclayer/internal/testwait"
)

const env = "SYNCLAYER_TESTPROC_CHILD"

type config struct{ Word string }

// TestChild is the child of TestStartAndKill: it prints the word its
// parent gave it and waits to be killed (the parent does not wait for the
// sleep to end: it kills the child as soon as its last line arrives).
func TestChild(t *testing.T) {
	var cfg config
	testproc.Config(t, env, "TestStartAndKill", &cfg)
	fmt.Println("child says", cfg.Word)
	fmt.Println("mark a\nmark b\nmark a\nother")
	time.Sleep(3 * time.Minute) // until killed; the parent kills it at once
}

// The child gets its configuration, its output reaches the parent, its
// marks are counted, it is alive until killed, and Kill stops it without
// error.
func TestStartAndKill(t *testing.T) {
	testproc.SkipInChild(t, env)
	c := testproc.Start(t, "TestChild", env, config{Word: "xyzzy"})
	testwait.For(t, time.Minute, func() string { return "the child's last line; output:\n" + c.Output() }, func() bool {
		return strings.Contains(c.Output(), "\nother\n")
	})
	if !strings.Contains(c.Output(), "child says xyzzy\n") {
		t.Errorf("the child's output lacks the word it was given:\n%s", c.Output())
	}
	if got := c.Lines("mark "); len(got) != 2 || !got["mark a"] || !got["mark b"] {
		t.Errorf("Lines(\"mark \") = %v, want mark a and mark b", got)
	}
	if err := c.Alive(); err != nil {
		t.Fatal(err)
	}
	if err := c.Kill(); err != nil {
		t.Fatal(err)
	}
	if err := c.Alive(); err == nil || !strings.Contains(err.Error(), "child TestChild exited") {
		t.Errorf("Alive after Kill = %v, want the child's exit", err)
	}
}

// A Buffer keeps what is written until it holds more than Limit bytes,
// returns all of it or its end, and counts its marked lines.
func TestBuffer(t *testing.T) {
	b := &testproc.Buffer{Limit: 8}
	for _, w := range []string{"mark a\n", "mark b\n", "dropped\n"} {
		if n, err := b.Write([]byte(w)); n != len(w) || err != nil {
			t.Fatalf("Write(%q) = %d, %v; want %d, nil", w, n, err, len(w))
		}
	}
	if got := b.String(); got != "mark a\nmark b\n" {
		t.Errorf("String() = %q, want the writes up to the limit", got)
	}
	if got := b.Last(3); got != " b\n" {
		t.Errorf("Last(3) = %q, want %q", got, " b\n")
	}
	if got := b.Lines("mark "); len(got) != 2 || !got["mark a"] || !got["mark b"] {
		t.Errorf("Lines(\"mark \") = %v, want mark a and mark b", got)
	}
	if got := new(testproc.Buffer).Last(4096); got != "" {
		t.Errorf("an empty Buffer's Last = %q", got)
	}
}
