package soap_test

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/connectors/soap"
)

func Example() {
	type SaveWorkflow struct {
		XMLName xml.Name `xml:"urn:example:workflows SaveWorkflow"`
		ID      string   `xml:"Id"`
		Title   string   `xml:"Title"`
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		fmt.Println(r.Header.Get("Content-Type"))
		fmt.Println(string(body))
		// The service refuses: a Client fault, with HTTP 500 as SOAP 1.1 says.
		w.WriteHeader(http.StatusInternalServerError)
		fmt.Fprint(w, `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><s:Fault>`+
			`<faultcode>s:Client</faultcode><faultstring>Title too long</faultstring></s:Fault></s:Body></s:Envelope>`)
	}))
	defer srv.Close()

	conn, err := soap.New(soap.Config{URL: srv.URL, Version: soap.SOAP12, Action: "urn:example:workflows/Save"})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer conn.Close()
	err = conn.Sync(context.Background(), synclayer.Record{
		Key:     "WF-1",
		Payload: SaveWorkflow{ID: "WF-1", Title: "Intake <v2>"},
	})
	var f *soap.Fault
	if errors.As(err, &f) {
		fmt.Println(f.Code, f.Reason, synclayer.IsPermanent(err))
	}
	// Output:
	// application/soap+xml; charset=utf-8; action="urn:example:workflows/Save"
	// <?xml version="1.0" encoding="UTF-8"?>
	// <soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope"><soap:Body><SaveWorkflow xmlns="urn:example:workflows"><Id>WF-1</Id><Title>Intake &lt;v2&gt;</Title></SaveWorkflow></soap:Body></soap:Envelope>
	// Client Title too long true
}
