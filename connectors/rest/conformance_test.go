package rest_test

import (
	"testing"

	"github.com/hmsplatform/synclayer/connectors/rest"
	"github.com/hmsplatform/synclayer/synclayertest"
)

func TestConformance(t *testing.T) {
	synclayertest.TestConnector(t, synclayertest.ConnectorHarness{
		NewPartner: func(t *testing.T) *synclayertest.Partner {
			p := newPartner(t)
			conn, err := rest.New(rest.Config{BaseURL: p.srv.URL, Concurrency: 16})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { conn.Close() })
			return &synclayertest.Partner{Connector: conn, Lookup: p.lookup, Fail: p.fail}
		},
		Payload: func(key string, version int64) any { return payload{Key: key, Version: version} },
		Delete:  true,
	})
}
