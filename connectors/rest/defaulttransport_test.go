package rest_test

import (
	"testing"

	"github.com/jarcoal/httpmock"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/connectors/rest"
)

// TestReplacedDefaultTransport replaces http.DefaultTransport with a
// RoundTripper that is not an *http.Transport, as httpmock does: New must
// not panic, and the connector's own client must send through the
// replacement.
func TestReplacedDefaultTransport(t *testing.T) {
	httpmock.Activate(t) // restored at cleanup
	httpmock.RegisterResponder("PUT", "https://records.example.test/records/WF-1", httpmock.NewStringResponder(204, ""))
	conn, err := rest.New(rest.Config{BaseURL: "https://records.example.test"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.Sync(t.Context(), synclayer.Record{Key: "WF-1", Version: 1, Payload: map[string]string{"key": "WF-1"}}); err != nil {
		t.Fatalf("Sync through the replaced transport: %v", err)
	}
	if n := httpmock.GetTotalCallCount(); n != 1 {
		t.Errorf("the replaced transport saw %d requests, want 1", n)
	}
}
