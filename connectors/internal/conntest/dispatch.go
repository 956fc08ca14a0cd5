package conntest

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/synclayertest"
)

// Dispatcher routes "Push" events to conn, registered as name: an event's
// Subject is the key and record builds the record of a key; attempts
// follow policy, each bounded by timeout.
func Dispatcher(t *testing.T, name string, conn synclayer.Connector, record func(key string) synclayer.Record,
	policy synclayer.RetryPolicy, timeout time.Duration, obs synclayer.Observer) *synclayer.Dispatcher {
	t.Helper()
	reg := new(synclayer.Registry)
	mapper := synclayer.MapperFunc(func(_ context.Context, ev synclayer.Event) (synclayer.Record, error) {
		return record(ev.Subject), nil
	})
	if err := reg.Register(name, conn, synclayer.Route("Push", mapper), synclayer.WithRetry(policy), synclayer.WithTimeout(timeout)); err != nil {
		t.Fatal(err)
	}
	if obs == nil {
		obs = synclayer.NoObserver
	}
	return synclayertest.NewDispatcher(t, reg, synclayer.WithObserver(obs))
}

// FastRetry is the retry policy that keeps a connector's dispatcher tests
// short: four attempts, 1 to 5 ms apart, given up after maxElapsed.
func FastRetry(maxElapsed time.Duration) synclayer.RetryPolicy {
	return synclayer.RetryPolicy{MaxAttempts: 4, InitialInterval: time.Millisecond, MaxInterval: 5 * time.Millisecond, MaxElapsed: maxElapsed}
}

// WriteRaw hijacks the connection, writes raw bytes (a malformed or cut
// response) and closes it.
func WriteRaw(w http.ResponseWriter, raw string) {
	conn, buf, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return
	}
	_, _ = buf.WriteString(raw)
	_ = buf.Flush()
	conn.Close()
}
