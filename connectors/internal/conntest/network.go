package conntest

import (
	"io"
	"strings"
	"testing"
	"time"

	"github.com/hmsplatform/synclayer"
)

// Retrying routes "Push" events to conn, registered as name, as
// [Dispatcher] does, with the quick retries of the network tests: four
// attempts a millisecond or so apart, each bounded by 300ms.
func Retrying(t *testing.T, name string, conn synclayer.Connector, record func(key string) synclayer.Record, obs synclayer.Observer) *synclayer.Dispatcher {
	t.Helper()
	policy := synclayer.RetryPolicy{MaxAttempts: 4, InitialInterval: time.Millisecond, MaxInterval: 10 * time.Millisecond}
	return Dispatcher(t, name, conn, record, policy, 300*time.Millisecond, obs)
}

// DeliveredOnRetry dispatches a Push of key through d and fails the test
// at once unless it succeeds on the second attempt, the first having met
// the fault the test injected.
func DeliveredOnRetry(t *testing.T, d *synclayer.Dispatcher, key string) {
	t.Helper()
	rep, err := d.Dispatch(t.Context(), synclayer.Event{ID: "e1", Type: "Push", Subject: key})
	if err != nil || len(rep.Results) != 1 || rep.Results[0].Attempts != 2 {
		t.Fatalf("%v after %+v", err, rep.Results)
	}
}

// PushFailures dispatches a Push of each key through d and returns the
// texts of the errors it returns.
func PushFailures(t *testing.T, d *synclayer.Dispatcher, keys ...string) []string {
	t.Helper()
	var texts []string
	for _, k := range keys {
		if _, err := d.Dispatch(t.Context(), synclayer.Event{ID: "e-" + k, Type: "Push", Subject: k}); err != nil {
			texts = append(texts, err.Error())
		}
	}
	return texts
}

// NoSecrets fails the test unless the error texts and logs together
// show every one of planned (the failures happened as planned) and none
// of secrets.
func NoSecrets(t *testing.T, texts []string, logs string, planned, secrets []string) {
	t.Helper()
	all := strings.Join(append(texts, logs), "\n")
	for _, p := range planned {
		if !strings.Contains(all, p) {
			t.Fatalf("failures did not happen as planned (no %q):\n%s", p, all)
		}
	}
	for _, s := range secrets {
		if strings.Contains(all, s) {
			t.Errorf("%q leaked:\n%s", s, all)
		}
	}
}

// Open returns c, failing the test at once if err is set, and closes c
// when the test ends: the result of a connector's New, passed along.
func Open[C io.Closer](t testing.TB, c C, err error) C {
	t.Helper()
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}
