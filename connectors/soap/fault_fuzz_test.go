package soap

import (
	"strings"
	"testing"
)

// FuzzParseFault reads arbitrary bodies with arbitrary Content-Types as a
// partner might send them: never a panic; a fault that is retried is one
// of SOAP's own Server or Receiver codes, in the envelope's namespace; and
// texts stay bounded.
func FuzzParseFault(f *testing.F) {
	f.Add([]byte(`<?xml version="1.0" encoding="ISO-8859-1"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><s:Fault><faultcode>s:Server</faultcode><faultstring>caf`+"\xe9"+`</faultstring></s:Fault></s:Body></s:Envelope>`), "text/xml")
	f.Add([]byte(`<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope" xmlns:app="urn:a"><e:Body><e:Fault><e:Code><e:Value>app:Receiver</e:Value></e:Code></e:Fault></e:Body></e:Envelope>`), "application/soap+xml; charset=utf-8")
	f.Add([]byte("\xff\xfe<\x00?\x00x\x00"), "text/xml; charset=UTF-16")
	f.Add([]byte(`<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><s:Fault><faultcode xmlns:s="urn:x">s:Server</faultcode></s:Fault></s:Body></s:Envelope>`), "text/xml; charset=x-unknown")
	f.Fuzz(func(t *testing.T, body []byte, contentType string) {
		for _, cut := range []bool{false, true} {
			checkFault(t, parseFault(body, contentType, cut))
		}
	})
}

// checkFault fails t unless flt is nil or retried only when it is SOAP's
// own Server or Receiver fault, with bounded texts.
func checkFault(t *testing.T, flt *Fault) {
	t.Helper()
	if flt == nil {
		return
	}
	if flt.Retryable() {
		ok := flt.Version == SOAP11 && flt.Namespace == NamespaceSOAP11 && strings.HasPrefix(flt.Code+".", "Server.") ||
			flt.Version == SOAP12 && flt.Namespace == NamespaceSOAP12 && flt.Code == "Receiver"
		if !ok {
			t.Fatalf("retryable fault %+v is not SOAP's own Server or Receiver", flt)
		}
	}
	for _, s := range []string{flt.Code, flt.Reason, flt.Detail, flt.Actor, flt.Subcode} {
		if len(s) > maxFaultText+len("…") {
			t.Fatalf("text of %d bytes, over the bound", len(s))
		}
	}
}
