package conntest

import (
	"io"
	"net/http"
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

// Mock builds a connector with build, handing it a client whose transport
// is a fresh httpmock transport, and returns both. A failed build fails
// the test at once.
func Mock[C any](t *testing.T, build func(*http.Client) (C, error)) (C, *httpmock.MockTransport) {
	t.Helper()
	mt := httpmock.NewMockTransport()
	conn, err := build(&http.Client{Transport: mt})
	if err != nil {
		t.Fatal(err)
	}
	return conn, mt
}
