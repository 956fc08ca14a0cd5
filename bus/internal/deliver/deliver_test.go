package deliver_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/bus/internal/deliver"
)

func TestCallTurnsAPanicIntoAnError(t *testing.T) {
	err := deliver.Call(context.Background(), "nats", func(context.Context, synclayer.Event) error { panic("boom") }, synclayer.Event{ID: "e-1"})
	if err == nil || err.Error() != `nats: handler panicked on event "e-1": boom` {
		t.Errorf("err = %v", err)
	}
	want := errors.New("plain")
	if err := deliver.Call(context.Background(), "nats", func(context.Context, synclayer.Event) error { return want }, synclayer.Event{}); err != want {
		t.Errorf("err = %v, want the handler's own", err)
	}
}

func TestOverLimit(t *testing.T) {
	if got, want := deliver.OverLimit("amqp", "e-1", 6, 5).Error(), `amqp: event "e-1" delivered 6 times, over the limit of 5, without an outcome`; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestReasonIsBounded(t *testing.T) {
	got := deliver.Reason(errors.New(strings.Repeat("é", deliver.MaxReason)))
	if len(got) > deliver.MaxReason+len("…") || !utf8.ValidString(got) || !strings.HasSuffix(got, "…") {
		t.Errorf("reason of %d bytes, valid UTF-8 %v", len(got), utf8.ValidString(got))
	}
	if got := deliver.Reason(errors.New("short")); got != "short" {
		t.Errorf("got %q", got)
	}
}

func TestCheckSubscribe(t *testing.T) {
	h := func(context.Context, synclayer.Event) error { return nil }
	for _, tc := range []struct {
		types []string
		h     func(context.Context, synclayer.Event) error
		want  string
	}{
		{[]string{"T"}, nil, "kafka: subscribe: nil handler"},
		{nil, h, "kafka: subscribe: no event types"},
	} {
		if err := deliver.CheckSubscribe("kafka", tc.types, tc.h); err == nil || err.Error() != tc.want {
			t.Errorf("err = %v, want %q", err, tc.want)
		}
	}
	if err := deliver.CheckSubscribe("kafka", []string{"T"}, h); err != nil {
		t.Errorf("err = %v, want nil", err)
	}
}

// A slot free when the subscriber's context has already ended is not
// taken: select would pick either case at random, and a handler started
// then runs with an ended context. Many tries make a random pick show.
func TestAcquireLosesToAnEndedContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	sem := make(chan struct{}, 1)
	for i := range 200 {
		if deliver.Acquire(ctx, sem) {
			t.Fatalf("try %d: Acquire took a slot after its context ended", i)
		}
		if len(sem) != 0 {
			t.Fatalf("try %d: %d slots held after a refused Acquire; want 0", i, len(sem))
		}
	}
	if !deliver.Acquire(context.Background(), sem) || len(sem) != 1 {
		t.Fatalf("Acquire with a free slot and a live context: held %d slots; want 1", len(sem))
	}
}

// A call is interrupted when its context ended and it failed with an error
// the bus would otherwise count: not nil, not permanent, not a deferral.
func TestInterrupted(t *testing.T) {
	live := context.Background()
	ended, cancel := context.WithCancel(live)
	cancel()
	fail := errors.New("handler stopped")
	for _, c := range []struct {
		name string
		ctx  context.Context
		err  error
		want bool
	}{
		{"failed after its context ended", ended, fail, true},
		{"failed with its context live", live, fail, false},
		{"acknowledged after its context ended", ended, nil, false},
		{"permanent after its context ended", ended, synclayer.Permanent(fail), false},
		{"deferred after its context ended", ended, synclayer.Redeliver(fail, time.Second), false},
	} {
		if got := deliver.Interrupted(c.ctx, c.err); got != c.want {
			t.Errorf("%s: Interrupted = %v, want %v", c.name, got, c.want)
		}
	}
}
