// Package bustest holds the tests that the bus adapters share beyond the
// conformance suite (synclayertest.TestBus): the steps of their package
// Examples, recovery from a subscriber that died, events whose handler
// was cut short by shutdown ([InterruptedHandedBack],
// [CloseInterruptedHandedBack]), and the checks on messages that are not
// valid events; and what their tests share: the
// fixture they give the conformance suite ([Fixture]), background
// subscribers ([Subscribe]) and waits that fail the test when their
// context ends ([Wait], [Eventually]). Each bus test calls them with its
// own buses and its own way of writing raw messages.
package bustest

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/synclayertest"
)

// Bus is a bus adapter as these tests use it: the conformance suite's
// [synclayertest.Bus] that can be closed.
type Bus interface {
	synclayertest.Bus
	Close(ctx context.Context) error
}

// Subscribe runs b.Subscribe for types in the background until stop is
// called or the test ends; stop returns what Subscribe returned.
func Subscribe(t testing.TB, b synclayer.Subscriber, types []string, h func(context.Context, synclayer.Event) error) (stop func() error) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Subscribe(ctx, types, h) }()
	var err error
	stopped := false
	stop = func() error {
		if !stopped {
			cancel()
			err = <-done
			stopped = true
		}
		return err
	}
	t.Cleanup(func() { stop() })
	return stop
}

// UniqueName returns a name for what a test of the bus named bus creates
// on its broker: lower-case, from the test's name, with a time stamp so
// that runs do not collide.
func UniqueName(t testing.TB, bus string) string {
	name := strings.ToLower(strings.NewReplacer("/", "-", " ", "-").Replace(t.Name()))
	return fmt.Sprintf("sltest-%s-%s-%d", bus, name, time.Now().UnixNano())
}

// publishAndWait publishes the event id of type "Order" on p, then waits
// for a value on ch (a handler saying it got the event), failing the test
// with what if ctx ends first.
func publishAndWait[T any](ctx context.Context, t testing.TB, p synclayer.Publisher, id string, ch <-chan T, what string) {
	t.Helper()
	if err := p.Publish(ctx, synclayer.Event{ID: id, Type: "Order"}); err != nil {
		t.Fatal(err)
	}
	Wait(ctx, t, ch, what)
}

// Eventually waits until cond holds, asking it again every 10ms, failing
// the test with what if ctx ends first.
func Eventually(ctx context.Context, t testing.TB, cond func() bool, what string) {
	t.Helper()
	for !cond() {
		select {
		case <-time.After(10 * time.Millisecond):
		case <-ctx.Done():
			t.Fatal(what)
		}
	}
}

// Wait waits for a value on ch, failing the test with what if ctx ends
// first.
func Wait[T any](ctx context.Context, t testing.TB, ch <-chan T, what string) T {
	t.Helper()
	var v T
	select {
	case v = <-ch:
	case <-ctx.Done():
		t.Fatal(what)
	}
	return v
}
