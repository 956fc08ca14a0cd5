package soap_test

import (
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/connectors/soap"
)

// Record is the payload of SaveRecord and the answer of GetRecord.
type Record struct {
	XMLName xml.Name `xml:"urn:example:records Record"`
	Key     string   `xml:"Key"`
	Title   string   `xml:"Title"`
}

// With a read operation of the partner's WSDL as Config.Read, Verify
// finds a record edited by hand.
func ExampleConnector_Verify() {
	// A partner whose GetRecord answers a title edited by hand.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		fmt.Println("call:", r.Header.Get("SOAPAction"), strings.Contains(string(body), "GetRecord"))
		w.Header().Set("Content-Type", "text/xml; charset=utf-8")
		fmt.Fprint(w, `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>`+
			`<GetRecordResponse xmlns="urn:example:records"><Record><Key>WF-1</Key><Title>Intake (edited)</Title></Record></GetRecordResponse>`+
			`</s:Body></s:Envelope>`)
	}))
	defer srv.Close()

	conn, err := soap.New(soap.Config{
		URL:    srv.URL,
		Action: "urn:example:records/Save",
		Read: func(ctx context.Context, c *soap.Connector, key string) (any, error) {
			var resp struct {
				Record *Record `xml:"Record"`
			}
			err := c.Call(ctx, "urn:example:records/Get", struct {
				XMLName xml.Name `xml:"urn:example:records GetRecord"`
				Key     string   `xml:"Key"`
			}{Key: key}, &resp)
			if err != nil || resp.Record == nil {
				return nil, err
			}
			return resp.Record, nil
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer conn.Close()

	v, err := conn.Verify(context.Background(), synclayer.Record{
		Key: "WF-1", Payload: &Record{Key: "WF-1", Title: "Intake"},
	})
	fmt.Println(v.Kind, v.Fields, err)
	// Output:
	// call: "urn:example:records/Get" true
	// differs [Title] <nil>
}
