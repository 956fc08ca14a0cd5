// Package testproc runs a test of the running test binary as a child
// process that the parent test kills and restarts: the crash tests' way to
// stop a consumer or relay at a random point, as a power cut or an OOM kill
// would.
//
// The parent passes the child its configuration as JSON in an environment
// variable; the child test skips when that variable is unset, so that a
// plain `go test` run leaves it out.
//
// [Build] builds a program of the module for a test to run, with the race
// detector when the test has it ([Race]).
package testproc

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
)

// Config is the child's side: it skips t unless this process was started
// by [Start] with env set, and decodes the parent's configuration into cfg.
// parent names the test that starts the child, for the skip message.
func Config(t *testing.T, env, parent string, cfg any) {
	t.Helper()
	raw := os.Getenv(env)
	if raw == "" {
		t.Skipf("the child process of %s; runs only when %s starts it", parent, parent)
	}
	if err := json.Unmarshal([]byte(raw), cfg); err != nil {
		t.Fatal(err)
	}
}

// SkipInChild skips t in a child process started with env set: the
// parent's tests are not to run again inside the child.
func SkipInChild(t *testing.T, env string) {
	t.Helper()
	if os.Getenv(env) != "" {
		t.Skip("inside the child")
	}
}

// Child is one run of a child process.
type Child struct {
	name string
	cmd  *exec.Cmd
	out  *Buffer
	done chan struct{} // closed once the child has exited
	err  error         // how it exited, once done is closed
}

// Start runs the test named test of this test binary in a child process,
// with env set to cfg as JSON, and a test timeout of 4 minutes. The child
// is killed when t ends, if it is still running, so that a test that fails
// before it kills its children leaves none behind.
func Start(t testing.TB, test, env string, cfg any) *Child {
	t.Helper()
	raw, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^"+test+"$", "-test.count=1", "-test.timeout=4m")
	cmd.Env = append(os.Environ(), env+"="+string(raw))
	c := &Child{name: test, cmd: cmd, out: &Buffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = c.out, c.out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		c.err = cmd.Wait()
		close(c.done)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-c.done
	})
	return c
}

// Kill SIGKILLs the child and waits for it to exit. It returns an error,
// with the child's output, if the child had exited before.
func (c *Child) Kill() error {
	if err := c.exited(" before it was killed"); err != nil {
		return err
	}
	_ = c.cmd.Process.Kill()
	<-c.done
	return nil
}

// Alive returns nil while the child runs, and once it has exited an error
// saying how, with its output.
func (c *Child) Alive() error { return c.exited("") }

func (c *Child) exited(when string) error {
	select {
	case <-c.done:
		return fmt.Errorf("child %s exited%s: %v\n%s", c.name, when, c.err, c.Output())
	default:
		return nil
	}
}

// Output returns the last 4 KB the child printed, for failure messages.
func (c *Child) Output() string { return c.out.Last(4096) }

// Lines returns the distinct lines of all the child printed so far that
// start with prefix: marks a child prints for its parent to count.
func (c *Child) Lines(prefix string) map[string]bool { return c.out.Lines(prefix) }

// Buffer collects the output of a process a test runs: it is safe for the
// process's writers (exec's copying goroutines) and the test's readers at
// once. With Limit > 0 it drops what the process writes once it holds
// more than Limit bytes. The zero value is an empty Buffer without limit.
type Buffer struct {
	// Limit, if > 0, is the size past which writes are dropped.
	Limit int

	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p, unless the buffer holds more than Limit bytes. It
// never fails.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.Limit > 0 && b.b.Len() > b.Limit {
		return len(p), nil
	}
	return b.b.Write(p)
}

// String returns all the buffer holds.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// Last returns the last n bytes the buffer holds, or all of it if it
// holds fewer.
func (b *Buffer) Last(n int) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	bs := b.b.Bytes()
	return string(bs[max(len(bs)-n, 0):])
}

// Lines returns the distinct lines the buffer holds that start with
// prefix.
func (b *Buffer) Lines(prefix string) map[string]bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	seen := map[string]bool{}
	for _, l := range strings.Split(b.b.String(), "\n") {
		if strings.HasPrefix(l, prefix) {
			seen[l] = true
		}
	}
	return seen
}
