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
// sleep to end: it kills the child as soon as the word arrives).
func TestChild(t *testing.T) {
	var cfg config
	testproc.Config(t, env, "TestStartAndKill", &cfg)
	fmt.Println("child says", cfg.Word)
	time.Sleep(3 * time.Minute) // until killed; the parent kills it at once
}

// The child gets its configuration, its output reaches the parent, and
// Kill stops a running child without error.
func TestStartAndKill(t *testing.T) {
	testproc.SkipInChild(t, env)
	c := testproc.Start(t, "TestChild", env, config{Word: "xyzzy"})
	testwait.For(t, time.Minute, func() string { return "the child's word; output:\n" + c.Output() }, func() bool {
		return strings.Contains(c.Output(), "child says xyzzy")
	})
	if err := c.Kill(); err != nil {
		t.Fatal(err)
	}
}
