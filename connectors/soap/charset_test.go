package soap_test

import (
	"errors"
	"net/http"
	"testing"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/connectors/internal/conntest"
	"github.com/hmsplatform/synclayer/connectors/soap"
)

// TestUTF16DeclaredOnUTF8Bytes answers with UTF-8 bytes under an XML
// declaration that says UTF-16, with no byte order mark, as a .NET
// service serialising through a StringWriter does, with and without a
// charset parameter. A document whose "<?xml" reads as ASCII bytes is not
// UTF-16 (XML 1.0 Appendix F): it is read as UTF-8, so the answer
// confirms the push, and a fault's non-ASCII reason comes out right.
func TestUTF16DeclaredOnUTF8Bytes(t *testing.T) {
	for _, ctype := range []string{"text/xml", "text/xml; charset=utf-8"} {
		for _, decl := range []string{"utf-16", "UTF-16LE"} {
			head := `<?xml version="1.0" encoding="` + decl + `"?>`
			t.Run(ctype+"/"+decl, func(t *testing.T) {
				p := newPartner(t)
				conn, err := soap.New(soap.Config{URL: p.srv.URL})
				conn = conntest.Open(t, conn, err)

				ok := head + `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><UpsertRecordResponse xmlns="urn:example:records"/></s:Body></s:Envelope>`
				p.faults.Inject(func(w http.ResponseWriter, r *http.Request, apply func() int) {
					apply()
					conntest.Status(200, ok, "Content-Type", ctype)(w, r, apply)
				})
				if err := conn.Sync(t.Context(), upsert("WF-1", 1)); err != nil {
					t.Fatalf("Sync = %v, want success", err)
				}
				if got, _ := p.lookup(t.Context(), "WF-1"); len(got) != 1 || got[0] != 1 {
					t.Errorf("partner holds %v, want version 1", got)
				}

				reason := "Schlüssel ungültig"
				p.faults.Inject(conntest.Status(200, fault11Doc(decl, "Client", reason), "Content-Type", ctype))
				err = conn.Sync(t.Context(), upsert("WF-1", 2))
				var f *soap.Fault
				if !errors.As(err, &f) || f.Code != "Client" || f.Reason != reason || !synclayer.IsPermanent(err) {
					t.Errorf("Sync = %v, want a permanent Client fault with reason %q", err, reason)
				}
			})
		}
	}
}
