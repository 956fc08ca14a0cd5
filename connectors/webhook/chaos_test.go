package webhook_test

import (
	"net/http"
	"testing"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/connectors/internal/conntest"
	"github.com/hmsplatform/synclayer/connectors/webhook"
)

// TestChaosOneRecordPerKey runs the shared chaos scenario against a
// receiver: every key ends at its newest version, and every signature
// verified.
func TestChaosOneRecordPerKey(t *testing.T) {
	var rc *receiver
	conntest.Chaos{
		Name: "hooks", Keys: 40, ShortKeys: 15, KeyFormat: "chaos-%03d",
		Payload: func(_ string, v int64) any { return payload{Version: v} },
		Start: func(t *testing.T, wrap func(http.Handler) http.Handler) (synclayer.Connector, conntest.Lookup) {
			rc = newReceiverBehind(t, wrap)
			conn, err := webhook.New(webhook.Config{URL: rc.srv.URL + "/in", Secrets: []string{testSecret}, Concurrency: 16})
			return conntest.Open(t, conn, err), rc.lookup
		},
	}.Run(t)
	if n := rc.rejections(); n != 0 {
		t.Errorf("%d signatures rejected", n)
	}
}
