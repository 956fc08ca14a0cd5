package soap_test

import (
	"net/http"
	"testing"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/connectors/internal/conntest"
	"github.com/hmsplatform/synclayer/connectors/soap"
)

// TestChaosOneRecordPerKey runs the shared chaos scenario against a SOAP
// service: every key ends at its newest version.
func TestChaosOneRecordPerKey(t *testing.T) {
	conntest.Chaos{
		Name: "soap", Keys: 40, ShortKeys: 15, KeyFormat: "chaos-%03d",
		Payload: func(key string, v int64) any { return UpsertRecord{Key: key, Version: v} },
		Start: func(t *testing.T, wrap func(http.Handler) http.Handler) (synclayer.Connector, conntest.Lookup) {
			p := newPartnerBehind(t, wrap)
			conn, err := soap.New(soap.Config{URL: p.srv.URL, Version: soap.SOAP12, Action: "urn:example:records/Upsert", Concurrency: 16})
			return conntest.Open(t, conn, err), p.lookup
		},
	}.Run(t)
}
