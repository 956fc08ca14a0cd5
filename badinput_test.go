package synclayer_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/synclayertest"
)

// An error repeats an identifier whole up to 256 bytes, and cuts a longer
// one at a rune boundary, saying how long it was.
func TestSyncErrorBoundsIdentifiers(t *testing.T) {
	const limit = 256
	for _, c := range []struct {
		name, id string
		want     string // what the message must hold
		whole    bool
	}{
		{"at the limit", strings.Repeat("a", limit), `"` + strings.Repeat("a", limit) + `"`, true},
		{"one past", strings.Repeat("b", limit+1), `"` + strings.Repeat("b", limit) + `"…(257 bytes)`, false},
		// "é" is two bytes; the 256th byte is inside the second-to-last
		// one, so the cut goes back to its start.
		{"inside a rune", strings.Repeat("c", limit-1) + "éé", `"` + strings.Repeat("c", limit-1) + `"…(259 bytes)`, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			msg := (&synclayer.SyncError{EventID: c.id, Connector: "p", Op: "sync"}).Error()
			if !strings.Contains(msg, c.want) {
				t.Fatalf("message %q\ndoes not hold %q", msg, c.want)
			}
			if !utf8.ValidString(msg) {
				t.Fatalf("message %q is not valid UTF-8", msg)
			}
			if cut := strings.Contains(msg, "…"); cut == c.whole {
				t.Fatalf("message %q: cut %v, want %v", msg, cut, !c.whole)
			}
		})
	}
}

// A connector's panic value is kept, for the local log, whole up to 1024
// bytes and cut at a rune boundary past that; the error text names only
// its type.
func TestConnectorPanicTextIsBounded(t *testing.T) {
	const limit = 1024
	for _, c := range []struct {
		name, text, want string
	}{
		{"at the limit", strings.Repeat("a", limit), strings.Repeat("a", limit)},
		{"one past", strings.Repeat("b", limit+1), strings.Repeat("b", limit) + "…"},
		{"inside a rune", strings.Repeat("c", limit-1) + "éé", strings.Repeat("c", limit-1) + "…"},
		{"no rune start at all", strings.Repeat("\x80", limit+1), "\uFFFD"}, // invalid bytes become one U+FFFD
	} {
		t.Run(c.name, func(t *testing.T) {
			reg := new(synclayer.Registry)
			must(t, reg.Register("p", synclayer.ConnectorFunc(func(context.Context, synclayer.Record) error { panic(c.text) }),
				synclayer.Route("WorkflowDeployed", keyMapper)))
			d := synclayertest.NewDispatcher(t, reg, synclayer.WithObserver(synclayer.NoObserver))
			_, err := d.Dispatch(t.Context(), event("e1", "K", 0))
			if err == nil {
				t.Fatal("a panicking connector did not fail its route")
			}
			var pe *synclayer.PanicError
			if !errors.As(err, &pe) {
				t.Fatalf("error %v has no PanicError", err)
			}
			if pe.Value != c.want || !utf8.ValidString(pe.Value) {
				t.Fatalf("panic value ends %q, want %q", pe.Value[max(0, len(pe.Value)-40):], c.want[max(0, len(c.want)-40):])
			}
			if !strings.HasSuffix(err.Error(), "panic recovered in connector (value of type string)") {
				t.Fatalf("error %q", err)
			}
		})
	}
}

// subjectKey maps an event to the record named by its Subject, as is.
var subjectKey = synclayer.MapperFunc(func(_ context.Context, ev synclayer.Event) (synclayer.Record, error) {
	return synclayer.Record{Key: ev.Subject}, nil
})

// Keys at and just past each limit: the longest key, the edges of the
// control ranges, and Unicode noncharacters and invisible formatting
// characters beside their visible neighbours.
func TestRecordKeyLimits(t *testing.T) {
	fake := synclayertest.NewFake()
	reg := new(synclayer.Registry)
	must(t, reg.Register("p", fake, synclayer.Route("WorkflowDeployed", subjectKey)))
	d := synclayertest.NewDispatcher(t, reg, synclayer.WithObserver(synclayer.NoObserver))
	for i, c := range []struct {
		name, key string
		why       string // "" when the key is fine
	}{
		{"longest", strings.Repeat("k", maxKeyBytes), ""},
		{"one byte longer", strings.Repeat("k", maxKeyBytes+1), "1025 bytes, over the limit of 1024"},
		{"longest, multibyte", strings.Repeat("é", maxKeyBytes/2), ""},
		{"empty", "", "empty"},
		{"space", "a b", ""},
		{"unit separator", "a\x1fb", "control character U+001F"},
		{"NUL", "a\x00b", "control character U+0000"},
		{"tilde", "a~b", ""},
		{"DEL", "a\x7fb", "control character U+007F"},
		{"C1 control", "a\u0080b", "invisible or control character U+0080"},
		{"no-break space", "a\u00a0b", ""},
		{"zero-width space", "a\u200bb", "invisible or control character U+200B"},
		{"before the noncharacters", "a\ufdcfb", ""},
		{"first noncharacter", "a\ufdd0b", "invisible or control character U+FDD0"},
		{"last of the block", "a\ufdefb", "invisible or control character U+FDEF"},
		{"after the noncharacters", "a\ufdf0b", ""},
		{"replacement character", "a\ufffdb", ""},
		{"U+FFFE", "a\ufffeb", "invisible or control character U+FFFE"},
		{"U+FFFF", "a\uffffb", "invisible or control character U+FFFF"},
		{"U+1FFFE", "a\U0001fffeb", "invisible or control character U+1FFFE"},
		{"U+10000", "a\U00010000b", ""},
		{"not UTF-8", "a\xffb", "not valid UTF-8"},
	} {
		t.Run(c.name, func(t *testing.T) {
			ev := synclayer.Event{ID: fmt.Sprint("e", i), Type: "WorkflowDeployed", Subject: c.key}
			rep, err := d.Dispatch(t.Context(), ev)
			res := rep.Results[0]
			if c.why == "" {
				if err != nil || res.Status != synclayer.StatusSynced || res.Key != c.key {
					t.Fatalf("%v, %v; want synced", res.Status, err)
				}
				if _, ok := fake.Record(c.key); !ok {
					t.Fatal("the key did not reach the partner")
				}
				return
			}
			if res.Status != synclayer.StatusFailed || !errors.Is(err, synclayer.ErrMapping) || !synclayer.IsPermanent(err) ||
				!strings.Contains(err.Error(), c.why) || res.Key != "" || res.Attempts != 0 {
				t.Fatalf("status %v, key echoed %v, attempts %d, err %.300v; want a permanent ErrInvalidKey saying %q, no key echoed, no attempt",
					res.Status, res.Key != "", res.Attempts, err, c.why)
			}
		})
	}
}

// Event data at the size limit is accepted, one byte more is refused; a
// zero limit means the default.
func TestEventSizeLimit(t *testing.T) {
	reg, fakes := newFakes(t, 1)
	const limit = 64
	pad := func(n int) []byte { // valid JSON of exactly n bytes
		b := []byte(`{"version":1,"pad":"`)
		b = append(b, strings.Repeat("x", n-len(b)-2)...)
		return append(b, `"}`...)
	}
	d := synclayertest.NewDispatcher(t, reg, synclayer.WithObserver(synclayer.NoObserver), synclayer.WithMaxEventBytes(limit))
	if _, err := d.Dispatch(t.Context(), synclayer.Event{ID: "at", Type: "WorkflowDeployed", Subject: "K1", Data: pad(limit)}); err != nil {
		t.Fatalf("event of %d bytes, the limit: %v", limit, err)
	}
	_, err := d.Dispatch(t.Context(), synclayer.Event{ID: "over", Type: "WorkflowDeployed", Subject: "K2", Data: pad(limit + 1)})
	if !errors.Is(err, synclayer.ErrInvalidEvent) || !strings.Contains(err.Error(), "65 bytes, over the limit of 64") {
		t.Fatalf("event of %d bytes: %v; want ErrInvalidEvent", limit+1, err)
	}
	if fakes[0].CallCount() != 1 {
		t.Fatalf("partner called %d times, want 1", fakes[0].CallCount())
	}

	d = synclayertest.NewDispatcher(t, reg, synclayer.WithObserver(synclayer.NoObserver), synclayer.WithMaxEventBytes(0))
	const defaultLimit = 1 << 20
	ev := synclayer.Event{ID: "big", Type: "WorkflowDeployed", Subject: "K3", Data: pad(defaultLimit)}
	if _, err := d.Dispatch(t.Context(), ev); err != nil {
		t.Fatalf("WithMaxEventBytes(0), event of the default limit: %v", err)
	}
	ev.Data = pad(defaultLimit + 1)
	if _, err := d.Dispatch(t.Context(), ev); !errors.Is(err, synclayer.ErrInvalidEvent) {
		t.Fatalf("WithMaxEventBytes(0), event over the default limit: %v; want ErrInvalidEvent", err)
	}
}

// maxKeyBytes is the longest record key the dispatcher accepts.
const maxKeyBytes = 1024
