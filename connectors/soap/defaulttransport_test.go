package soap_test

import (
	"testing"

	"github.com/jarcoal/httpmock"

	"github.com/hmsplatform/synclayer/connectors/internal/conntest"
	"github.com/hmsplatform/synclayer/connectors/soap"
)

// TestReplacedDefaultTransport: with http.DefaultTransport replaced (as
// httpmock does), the connector's own client sends through the
// replacement.
func TestReplacedDefaultTransport(t *testing.T) {
	conntest.ReplacedDefaultTransport(t, "POST", "https://soap.example.test/RecordService",
		httpmock.NewStringResponder(200, `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body/></soap:Envelope>`),
		func() (conntest.Closer, error) {
			return soap.New(soap.Config{URL: "https://soap.example.test/RecordService"})
		},
		upsert("WF-1", 1))
}
