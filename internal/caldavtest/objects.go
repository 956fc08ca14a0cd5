package caldavtest

import (
	"encoding/xml"
	"net/http"
	"strings"
	"testing"
)

// calendarQuery asks for every VEVENT object with its data.
const calendarQuery = `<?xml version="1.0" encoding="utf-8"?>
<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
  <D:prop><D:getetag/><C:calendar-data/></D:prop>
  <C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"/></C:comp-filter></C:filter>
</C:calendar-query>`

type multistatus struct {
	Responses []struct {
		Href     string `xml:"DAV: href"`
		Propstat []struct {
			Prop struct {
				Data string `xml:"urn:ietf:params:xml:ns:caldav calendar-data"`
			} `xml:"DAV: prop"`
			Status string `xml:"DAV: status"`
		} `xml:"DAV: propstat"`
	} `xml:"DAV: response"`
}

// Objects returns every calendar object of the collection, by href, read
// with one REPORT calendar-query.
func (s *Server) Objects(t testing.TB, collectionURL string) map[string]string {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), "REPORT", collectionURL, strings.NewReader(calendarQuery))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Depth", "1")
	req.Header.Set("Content-Type", "application/xml; charset=utf-8")
	resp, body := s.send(t, req)
	if resp.StatusCode != http.StatusMultiStatus {
		t.Fatalf("caldavtest: REPORT %s: %s: %s", collectionURL, resp.Status, body)
	}
	var ms multistatus
	if err := xml.Unmarshal(body, &ms); err != nil {
		t.Fatalf("caldavtest: REPORT %s: %v", collectionURL, err)
	}
	out := map[string]string{}
	for _, r := range ms.Responses {
		for _, ps := range r.Propstat {
			if strings.Contains(ps.Status, " 200 ") && ps.Prop.Data != "" {
				out[r.Href] = ps.Prop.Data
			}
		}
	}
	return out
}
