package soap_test

import (
	"testing"

	"github.com/jarcoal/httpmock"

	"github.com/hmsplatform/synclayer/connectors/soap"
)

// TestReplacedDefaultTransport replaces http.DefaultTransport with a
// RoundTripper that is not an *http.Transport, as httpmock does: New must
// not panic, and the connector's own client must send through the
// replacement.
func TestReplacedDefaultTransport(t *testing.T) {
	httpmock.Activate(t) // restored at cleanup
	httpmock.RegisterResponder("POST", "https://soap.example.test/RecordService", httpmock.NewStringResponder(200, `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body/></soap:Envelope>`))
	conn, err := soap.New(soap.Config{URL: "https://soap.example.test/RecordService"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.Sync(t.Context(), upsert("WF-1", 1)); err != nil {
		t.Fatalf("Sync through the replaced transport: %v", err)
	}
	if n := httpmock.GetTotalCallCount(); n != 1 {
		t.Errorf("the replaced transport saw %d requests, want 1", n)
	}
}
