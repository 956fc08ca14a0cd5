package rest_test

import (
	"net/http"
	"testing"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/connectors/internal/conntest"
	"github.com/hmsplatform/synclayer/connectors/rest"
)

// TestChaosOneRecordPerKey runs the shared chaos scenario against a
// records API: every key ends with exactly one record, at its newest
// version.
func TestChaosOneRecordPerKey(t *testing.T) {
	conntest.Chaos{
		Name: "records", Keys: 60, ShortKeys: 20, KeyFormat: "chaos/%03d",
		Payload: func(key string, v int64) any { return payload{Key: key, Version: v} },
		Start: func(t *testing.T, wrap func(http.Handler) http.Handler) (synclayer.Connector, conntest.Lookup) {
			p := newPartnerBehind(t, wrap)
			conn, err := rest.New(rest.Config{BaseURL: p.srv.URL, Name: "records", Concurrency: 16})
			return conntest.Open(t, conn, err), p.lookup
		},
	}.Run(t)
}
