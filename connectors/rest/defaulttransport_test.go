package rest_test

import (
	"testing"

	"github.com/jarcoal/httpmock"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/connectors/internal/conntest"
	"github.com/hmsplatform/synclayer/connectors/rest"
)

// TestReplacedDefaultTransport: with http.DefaultTransport replaced (as
// httpmock does), the connector's own client sends through the
// replacement.
func TestReplacedDefaultTransport(t *testing.T) {
	conntest.ReplacedDefaultTransport(t, "PUT", "https://records.example.test/records/WF-1", httpmock.NewStringResponder(204, ""),
		func() (conntest.Closer, error) { return rest.New(rest.Config{BaseURL: "https://records.example.test"}) },
		synclayer.Record{Key: "WF-1", Version: 1, Payload: map[string]string{"key": "WF-1"}})
}
