package bustest

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/internal/cloudevents"
)

// Binary returns the headers and body of the binary-mode event "bin-1" of
// type "Order", which a bus test writes raw in its broker's own form of
// headers; [Received] checks that it arrives intact.
func Binary(t testing.TB) (hdr map[string]string, body []byte) {
	t.Helper()
	hdr, body, err := cloudevents.Binary(synclayer.Event{ID: "bin-1", Type: "Order", Data: json.RawMessage(`{"n":1}`)})
	if err != nil {
		t.Fatal(err)
	}
	return hdr, body
}

// Collector returns a handler that passes the events it gets to the
// channel, which holds up to 10 of them.
func Collector() (func(context.Context, synclayer.Event) error, chan synclayer.Event) {
	got := make(chan synclayer.Event, 10)
	return func(_ context.Context, ev synclayer.Event) error {
		got <- ev
		return nil
	}, got
}

// Received reads n events from got, checks that the binary event "bin-1"
// among them arrived with its data intact, and returns their IDs in the
// order they came. It fails the test if ctx ends first.
func Received(ctx context.Context, t testing.TB, got <-chan synclayer.Event, n int) []string {
	t.Helper()
	var ids []string
	for len(ids) < n {
		select {
		case ev := <-got:
			ids = append(ids, ev.ID)
			if ev.ID == "bin-1" && string(ev.Data) != `{"n":1}` {
				t.Errorf("binary event data = %s", ev.Data)
			}
		case <-ctx.Done():
			t.Fatalf("valid events not delivered; got %v", ids)
		}
	}
	return ids
}

// ReceiveAll subscribes to "Order" on b until n events have arrived, as
// [Received] reads them, and returns their IDs once Subscribe has
// returned nil.
func ReceiveAll(ctx context.Context, t *testing.T, b synclayer.Subscriber, n int) []string {
	t.Helper()
	h, got := Collector()
	stop := Subscribe(t, b, []string{"Order"}, h)
	ids := Received(ctx, t, got, n)
	if err := stop(); err != nil {
		t.Errorf("Subscribe: %v", err)
	}
	return ids
}

// SameIDs checks that ids, in any order, are want.
func SameIDs(t testing.TB, ids []string, want ...string) {
	t.Helper()
	ids = slices.Sorted(slices.Values(ids))
	if !slices.Equal(ids, want) {
		t.Errorf("delivered %v, want %v", ids, want)
	}
}

// Reasons checks that the dead letters' reasons, sorted, each say the
// message was not a valid event and what is wrong, as want says in the
// same order, and returns the letters in that order.
func Reasons[L any](t testing.TB, letters []L, reason func(L) string, want ...string) []L {
	t.Helper()
	if len(letters) != len(want) {
		t.Fatalf("%d dead letters, want %d: %+v", len(letters), len(want), letters)
	}
	// Handlers run concurrently: order the dead letters by reason.
	letters = slices.Clone(letters)
	slices.SortFunc(letters, func(a, b L) int { return strings.Compare(reason(a), reason(b)) })
	for i, w := range want {
		r := reason(letters[i])
		if !strings.Contains(r, "cloudevents: invalid event") || !strings.Contains(r, w) {
			t.Errorf("dead letter %d reason = %q, want it to say %q", i, r, w)
		}
	}
	return letters
}
