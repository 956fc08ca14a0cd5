package caldavtest_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/hmsplatform/synclayer/internal/caldavtest"
)

const ics = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\nUID:u1\r\nDTSTAMP:20260101T000000Z\r\nDTSTART;VALUE=DATE:20260310\r\nSUMMARY:hello\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"

func TestServers(t *testing.T) {
	for _, tc := range []struct {
		name  string
		start func(t *testing.T) *caldavtest.Server
	}{
		{"Radicale", func(t *testing.T) *caldavtest.Server {
			return caldavtest.StartRadicale(t, caldavtest.RadicaleOptions{})
		}},
		{"RadicaleAuth", func(t *testing.T) *caldavtest.Server {
			return caldavtest.StartRadicale(t, caldavtest.RadicaleOptions{User: "alice", Password: "pw-123456"})
		}},
		{"Xandikos", func(t *testing.T) *caldavtest.Server { return caldavtest.StartXandikos(t) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.start(t)
			cal := s.NewCalendar(t)
			req, _ := http.NewRequest(http.MethodPut, cal+"u1.ics", strings.NewReader(ics))
			req.Header.Set("Content-Type", "text/calendar; charset=utf-8")
			req.Header.Set("If-None-Match", "*")
			resp, err := s.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusCreated {
				t.Fatalf("PUT: %s\n%s", resp.Status, s.Output())
			}
			body, etag, status := s.Get(t, cal+"u1.ics")
			if status != 200 || etag == "" || !strings.Contains(body, "SUMMARY:hello") {
				t.Errorf("GET: %d %q %q", status, etag, body)
			}
			if s.Name == "Radicale" {
				if stored, ok := s.StoredFile(t, cal+"u1.ics"); !ok || !strings.Contains(stored, "SUMMARY:hello") {
					t.Errorf("stored %v %q", ok, stored)
				}
			}
		})
	}
}

func TestObjects(t *testing.T) {
	for _, s := range []*caldavtest.Server{caldavtest.StartRadicale(t, caldavtest.RadicaleOptions{}), caldavtest.StartXandikos(t)} {
		cal := s.NewCalendar(t)
		for _, name := range []string{"a.ics", "b.ics"} {
			req, _ := http.NewRequest(http.MethodPut, cal+name, strings.NewReader(strings.ReplaceAll(ics, "UID:u1", "UID:"+name)))
			req.Header.Set("Content-Type", "text/calendar; charset=utf-8")
			resp, err := s.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
		}
		objs := s.Objects(t, cal)
		if len(objs) != 2 {
			t.Errorf("%s: %d objects: %v", s.Name, len(objs), objs)
		}
		for href, data := range objs {
			if !strings.HasSuffix(href, ".ics") || !strings.Contains(data, "SUMMARY:hello") {
				t.Errorf("%s: %s: %q", s.Name, href, data)
			}
		}
	}
}
