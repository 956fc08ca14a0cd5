package webhook_test

import (
	"testing"

	"github.com/hmsplatform/synclayer/connectors/webhook"
	"github.com/hmsplatform/synclayer/synclayertest"
)

func TestConformance(t *testing.T) {
	synclayertest.TestConnector(t, synclayertest.ConnectorHarness{
		NewPartner: func(t *testing.T) *synclayertest.Partner {
			rc := newReceiver(t)
			conn, err := webhook.New(webhook.Config{URL: rc.srv.URL + "/hooks/synclayer", Secrets: []string{testSecret}})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { conn.Close() })
			return &synclayertest.Partner{Connector: conn, Lookup: rc.lookup, Fail: rc.fail}
		},
		Payload: func(_ string, version int64) any { return payload{Version: version} },
		Delete:  true,
	})
}
