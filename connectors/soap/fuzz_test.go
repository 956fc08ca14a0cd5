package soap_test

import (
	"encoding/xml"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/connectors/partner"
	"github.com/hmsplatform/synclayer/connectors/soap"
)

// fuzzRecord is the Body content of FuzzEnvelope.
type fuzzRecord struct {
	XMLName xml.Name `xml:"urn:example:records UpsertRecord"`
	Key     string   `xml:"Key"`
	Title   string   `xml:"Title"`
	Note    string   `xml:"note,attr"`
}

// xmlText reports whether XML 1.0 can carry s as character data.
func xmlText(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		switch {
		case r == 0x9 || r == 0xA || r == 0xD:
		case r >= 0x20 && r <= 0xD7FF, r >= 0xE000 && r <= 0xFFFD, r >= 0x10000 && r <= 0x10FFFF:
		default:
			return false
		}
	}
	return true
}

// leaks reports whether err shows pass: the text holds it, and the same
// failure with another password does not (so it does not come from
// elsewhere in the input).
func leaks(err, other error, pass string) bool {
	return pass != "" && strings.Contains(err.Error(), pass) && !strings.Contains(other.Error(), pass)
}

// FuzzEnvelope builds envelopes of arbitrary text in the payload and the
// WS-Security header. Text XML cannot carry is refused with ErrPayload;
// anything else makes a well-formed envelope with one Body child and one
// Security header, whose values read back exactly as sent (so '<', '&',
// quotes, "]]>" or a closing tag in a value cannot change the document).
func FuzzEnvelope(f *testing.F) {
	f.Add("WF-1", "Deploy", "n", "alice", "s3cret")
	f.Add("a&b", "</Title></UpsertRecord><Evil/>", `"'<>`, "bob]]>", "<![CDATA[x]]>")
	f.Add("\x00", "\r\n\t", "\uFFFE", "\xff", "é日本")
	f.Add("k", "t", "n", "\xe6\x97", "\xa5") // 日 split between user and password
	f.Fuzz(func(t *testing.T, key, title, note, user, pass string) {
		newConn := func(pass string) (*soap.Connector, error) {
			return soap.New(soap.Config{URL: "http://soap.invalid/records", Security: &soap.UsernameToken{Username: user, Password: pass}})
		}
		// The password must never show in an error.
		const placeholder = "placeholder-password"
		c, err := newConn(pass)
		if err != nil {
			// The credentials are checked once, at construction.
			if user != "" && xmlText(user) && xmlText(pass) {
				t.Fatalf("New refused credentials XML can carry: %v", err)
			}
			if _, err2 := newConn(placeholder); err2 != nil && leaks(err, err2, pass) {
				t.Fatalf("the error shows the password: %v", err)
			}
			return
		}
		if !xmlText(user) || !xmlText(pass) {
			// Each is checked on its own: two halves of one UTF-8 sequence
			// must not pass as a whole and travel as U+FFFD.
			t.Fatalf("New accepted credentials XML cannot carry (user %q, password %q)", user, pass)
		}
		rec := synclayer.Record{Key: key, Version: 1, Payload: &fuzzRecord{Key: key, Title: title, Note: note}}
		env, err := c.Envelope(rec)
		valid := xmlText(key) && xmlText(title) && xmlText(note)
		if err != nil {
			if !errors.Is(err, partner.ErrPayload) {
				t.Fatalf("error %v is not ErrPayload", err)
			}
			if valid {
				t.Fatalf("Envelope refused text XML can carry: %v", err)
			}
			if c2, cerr := newConn(placeholder); cerr == nil {
				if _, err2 := c2.Envelope(rec); err2 == nil || leaks(err, err2, pass) {
					t.Fatalf("the error shows the password: %v", err)
				}
			}
			return
		}
		if !valid {
			t.Fatalf("Envelope accepted text XML cannot carry: %q", env)
		}
		var doc struct {
			XMLName xml.Name
			Header  struct {
				Security []security `xml:"Security"`
			} `xml:"Header"`
			Body struct {
				Records []fuzzRecord `xml:"urn:example:records UpsertRecord"`
				Any     []struct {
					XMLName xml.Name
				} `xml:",any"`
			} `xml:"Body"`
		}
		if err := xml.Unmarshal(env, &doc); err != nil {
			t.Fatalf("the envelope is not well-formed XML: %v\n%s", err, env)
		}
		if doc.XMLName.Local != "Envelope" || len(doc.Body.Records) != 1 || len(doc.Body.Any) != 0 {
			t.Fatalf("want one UpsertRecord in the Body of an Envelope, got %+v\n%s", doc, env)
		}
		got := doc.Body.Records[0]
		if got.Key != key || got.Title != title || got.Note != note {
			t.Fatalf("the payload reads back as %+v, want %q %q %q\n%s", got, key, title, note, env)
		}
		if s := doc.Header.Security; len(s) != 1 || s[0].Token.Username != user || s[0].Token.Password != pass {
			t.Fatalf("the Security header reads back as %+v\n%s", s, env)
		}
	})
}
