package conntest

import (
	"io"
	"testing"

	"github.com/jarcoal/httpmock"

	"github.com/hmsplatform/synclayer"
)

// Closer is a connector that owns resources: the connectors built with
// their own http.Client.
type Closer interface {
	synclayer.Connector
	io.Closer
}

// ReplacedDefaultTransport replaces http.DefaultTransport with a
// RoundTripper that is not an *http.Transport, as httpmock does, answering
// method url with resp. New (called by build) must not panic, and the
// connector's own client must send rec through the replacement: exactly
// one request, and Sync succeeds.
func ReplacedDefaultTransport(t *testing.T, method, url string, resp httpmock.Responder, build func() (Closer, error), rec synclayer.Record) {
	t.Helper()
	httpmock.Activate(t) // restored at cleanup
	httpmock.RegisterResponder(method, url, resp)
	conn, err := build()
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.Sync(t.Context(), rec); err != nil {
		t.Fatalf("Sync through the replaced transport: %v", err)
	}
	if n := httpmock.GetTotalCallCount(); n != 1 {
		t.Errorf("the replaced transport saw %d requests, want 1", n)
	}
}
