package webhook_test

import (
	"testing"

	"github.com/jarcoal/httpmock"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/connectors/internal/conntest"
	"github.com/hmsplatform/synclayer/connectors/webhook"
)

// TestReplacedDefaultTransport: with http.DefaultTransport replaced (as
// httpmock does), the connector's own client sends through the
// replacement.
func TestReplacedDefaultTransport(t *testing.T) {
	conntest.ReplacedDefaultTransport(t, "POST", "https://hooks.example.test/in", httpmock.NewStringResponder(204, ""),
		func() (conntest.Closer, error) {
			return webhook.New(webhook.Config{URL: "https://hooks.example.test/in", Secrets: []string{"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}})
		},
		synclayer.Record{Key: "WF-1", Version: 1, Payload: map[string]string{"key": "WF-1"}})
}
