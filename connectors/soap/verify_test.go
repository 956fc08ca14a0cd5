package soap_test

import (
	"context"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/connectors/internal/conntest"
	"github.com/hmsplatform/synclayer/connectors/internal/reqlog"
	"github.com/hmsplatform/synclayer/connectors/partner"
	"github.com/hmsplatform/synclayer/connectors/soap"
	"github.com/hmsplatform/synclayer/drift"
)

// Asset is the record of the drift tests, the same in the upsert and in the
// read response.
type Asset struct {
	Key     string   `xml:"Key"`
	Title   string   `xml:"Title"`
	Count   string   `xml:"Count"`
	Due     string   `xml:"Due"`
	Active  string   `xml:"Active,omitempty"`
	Tags    []string `xml:"Tag"`
	Note    string   `xml:"Note"`
	Contact *Contact `xml:"Contact,omitempty"`
}

// Contact is a nested element of an Asset.
type Contact struct {
	Email string `xml:"Email"`
	Phone string `xml:"Phone,omitempty"`
	Kind  string `xml:"kind,attr,omitempty"`
}

// SaveAsset is the upsert payload.
type SaveAsset struct {
	XMLName xml.Name `xml:"urn:example:records SaveAsset"`
	Asset
}

// GetAsset asks for one asset; GetAssetResponse answers, without an Asset
// when there is none.
type GetAsset struct {
	XMLName xml.Name `xml:"urn:example:records GetAsset"`
	Key     string   `xml:"Key"`
}

type GetAssetResponse struct {
	XMLName xml.Name `xml:"urn:example:records GetAssetResponse"`
	Asset   *Asset   `xml:"Asset"`
}

// assetService is a SOAP 1.1 service on an httptest server with the
// operations SaveAsset, DeleteAsset and GetAsset. It stores each asset as
// the XML of its SaveAsset content.
type assetService struct {
	srv     *httptest.Server
	mu      sync.Mutex
	assets  map[string][]byte // key -> <Asset> XML as stored
	actions reqlog.Log
}

func newAssetService(t *testing.T) *assetService {
	s := &assetService{assets: map[string][]byte{}}
	s.srv = httptest.NewServer(s)
	t.Cleanup(s.srv.Close)
	return s
}

func (s *assetService) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	var env struct {
		Body struct {
			Save *SaveAsset `xml:"urn:example:records SaveAsset"`
			Get  *GetAsset  `xml:"urn:example:records GetAsset"`
			Del  *struct {
				Key string `xml:"Key"`
			} `xml:"urn:example:records DeleteAsset"`
		} `xml:"Body"`
	}
	if err := xml.Unmarshal(raw, &env); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.actions.Add(strings.Trim(r.Header.Get("SOAPAction"), `"`))
	var content any = struct {
		XMLName xml.Name `xml:"urn:example:records Done"`
	}{}
	switch b := env.Body; {
	case b.Save != nil:
		a, _ := xml.Marshal(struct {
			XMLName xml.Name `xml:"Asset"`
			Asset
		}{Asset: b.Save.Asset})
		s.assets[b.Save.Key] = a
	case b.Del != nil:
		delete(s.assets, b.Del.Key)
	case b.Get != nil:
		resp := GetAssetResponse{}
		if a, ok := s.assets[b.Get.Key]; ok {
			resp.Asset = new(Asset)
			if err := xml.Unmarshal(a, resp.Asset); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
		}
		content = resp
	default:
		http.Error(w, "unknown operation", http.StatusBadRequest)
		return
	}
	body, _ := xml.Marshal(content)
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	io.WriteString(w, `<?xml version="1.0"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>`)
	w.Write(body)
	io.WriteString(w, `</s:Body></s:Envelope>`)
}

// edit stores an asset by hand, as the partner's own users would.
func (s *assetService) edit(key, assetXML string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.assets[key] = []byte(assetXML)
}

func (s *assetService) remove(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.assets, key)
}

// held returns the stored asset of key, nil when there is none.
func (s *assetService) held(t *testing.T, key string) *Asset {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.assets[key]
	if !ok {
		return nil
	}
	var a Asset
	if err := xml.Unmarshal(b, &a); err != nil {
		t.Fatal(err)
	}
	return &a
}

// readAsset is the Config.Read of the tests: GetAsset through the
// connector, the answer converted to the payload's type.
func readAsset(ctx context.Context, c *soap.Connector, key string) (any, error) {
	var resp GetAssetResponse
	if err := c.Call(ctx, "urn:example:records/Get", GetAsset{Key: key}, &resp); err != nil {
		return nil, err
	}
	if resp.Asset == nil {
		return nil, nil
	}
	return &SaveAsset{Asset: *resp.Asset}, nil
}

func newAssetConn(t *testing.T, s *assetService, owned ...string) *soap.Connector {
	t.Helper()
	c, err := soap.New(soap.Config{
		URL: s.srv.URL, Action: "urn:example:records/Save", DeleteAction: "urn:example:records/Delete",
		DeleteBody: func(key string, _ int64) any {
			return struct {
				XMLName xml.Name `xml:"urn:example:records DeleteAsset"`
				Key     string   `xml:"Key"`
			}{Key: key}
		},
		Read:        readAsset,
		OwnedFields: owned,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func assetRecord(key string) synclayer.Record {
	return synclayer.Record{Key: key, Version: 2, Payload: &SaveAsset{Asset: Asset{
		Key: key, Title: "Pump 1", Count: "3", Due: "2026-11-29T18:00:00+01:00", Active: "true",
		Tags: []string{"a", "b"}, Note: "ours", Contact: &Contact{Email: "ops@example.com", Kind: "work"},
	}}}
}

// assetDrift is the drift scenario of the tests: assetRecord of A-1 pushed
// to a fresh assetService, and its delete at version 3.
func assetDrift() conntest.Drift[*assetService] {
	return conntest.Drift[*assetService]{
		New: func(t *testing.T) (*assetService, conntest.Verifier) {
			s := newAssetService(t)
			return s, newAssetConn(t, s)
		},
		Record:  assetRecord("A-1"),
		Deleted: synclayer.Record{Key: "A-1", Version: 3, Delete: true},
	}
}

// onlyGet returns a check that the service got exactly one call since, a
// Get, made by what (Verify, Repair).
func onlyGet(s *assetService, what, want string) func(*testing.T) {
	n := len(s.actions.Lines())
	return func(t *testing.T) {
		if got := s.actions.Lines()[n:]; !slices.Equal(got, []string{"urn:example:records/Get"}) {
			t.Errorf("%s called %v, want %s", what, got, want)
		}
	}
}

func TestVerifyReportsKindAndFields(t *testing.T) {
	assetDrift().VerifyCases(t, []conntest.DriftCase[*assetService]{
		{Name: "as pushed", Want: drift.InSync},
		{Name: "stored the partner's way", Before: func(s *assetService) {
			s.edit("A-1", `<Asset><Key>A-1</Key><Title> Pump 1 </Title><Count>3.0</Count><Due>2026-11-29T17:00:00Z</Due>
				<Active>1</Active><Tag>a</Tag><Tag>b</Tag><Note>ours</Note><Contact kind="work"><Email>ops@example.com</Email></Contact>
				<Modified>2026-11-29T17:00:01Z</Modified></Asset>`)
		}, Want: drift.InSync},
		{Name: "edited", Before: func(s *assetService) {
			s.edit("A-1", `<Asset><Key>A-1</Key><Title>Pump one</Title><Count>4</Count><Due>2026-11-29T18:00:00Z</Due>
				<Active>true</Active><Tag>b</Tag><Tag>a</Tag><Note>ours</Note><Contact kind="home"><Email>x@example.com</Email></Contact></Asset>`)
		}, Want: drift.Differs, Fields: []string{"Contact.@kind", "Contact.Email", "Count", "Due", "Tag", "Title"}},
		{Name: "elements dropped", Before: func(s *assetService) {
			s.edit("A-1", `<Asset><Key>A-1</Key><Count>3</Count><Due>2026-11-29T18:00:00+01:00</Due><Active>true</Active><Note>ours</Note></Asset>`)
		}, Want: drift.Differs, Fields: []string{"Contact", "Tag", "Title"}},
		{Name: "deleted by hand", Before: func(s *assetService) { s.remove("A-1") }, Want: drift.Missing},
		{Name: "delete done", Delete: true, Before: func(s *assetService) { s.remove("A-1") }, Want: drift.InSync},
		{Name: "delete undone", Delete: true, Want: drift.Unexpected},
	}, func(t *testing.T, s *assetService) func(*testing.T, drift.Verdict) {
		called := onlyGet(s, "Verify", "only Get")
		return func(t *testing.T, _ drift.Verdict) { called(t) }
	})
}

func TestRepairRestoresTheRecord(t *testing.T) {
	conntest.RepairCases(t, assetDrift(), []conntest.DriftCase[*assetService]{
		{Name: "edited", Want: drift.Differs, Before: func(s *assetService) {
			s.edit("A-1", `<Asset><Key>A-1</Key><Title>by hand</Title></Asset>`)
		}},
		{Name: "deleted", Want: drift.Missing, Before: func(s *assetService) { s.remove("A-1") }},
		{Name: "added", Delete: true, Want: drift.Unexpected},
	}, func(t *testing.T, s *assetService) *Asset { return s.held(t, "A-1") },
		func(t *testing.T, del bool, pushed, held *Asset) {
			if del {
				if held != nil {
					t.Fatalf("after the repair of a delete the partner holds %+v", held)
				}
				return
			}
			if held == nil || held.Title != pushed.Title || !slices.Equal(held.Tags, pushed.Tags) || held.Contact == nil || *held.Contact != *pushed.Contact {
				t.Fatalf("after the repair the partner holds %+v, want %+v", held, pushed)
			}
		})
}

func TestOwnedFieldsAreLeftToThePartner(t *testing.T) {
	s := newAssetService(t)
	c := newAssetConn(t, s, "Note", "Contact.Phone")
	rec := assetRecord("A-1")
	if err := c.Sync(t.Context(), rec); err != nil {
		t.Fatal(err)
	}
	s.edit("A-1", `<Asset><Key>A-1</Key><Title>Pump 1</Title><Count>3</Count><Due>2026-11-29T18:00:00+01:00</Due><Active>true</Active>
		<Tag>a</Tag><Tag>b</Tag><Note>call first</Note><Contact kind="work"><Email>ops@example.com</Email><Phone>555-0100</Phone></Contact></Asset>`)
	v, err := c.Verify(t.Context(), rec)
	if err != nil || v.Kind != drift.InSync {
		t.Fatalf("Verify after an owned-field edit = %v %q, %v; want in-sync", v.Kind, v.Fields, err)
	}
	s.edit("A-1", `<Asset><Key>A-1</Key><Title>renamed</Title><Count>3</Count><Due>2026-11-29T18:00:00+01:00</Due><Active>true</Active>
		<Tag>a</Tag><Tag>b</Tag><Note>call first</Note><Contact kind="work"><Email>ops@example.com</Email><Phone>555-0100</Phone></Contact></Asset>`)
	if v, err = c.Verify(t.Context(), rec); err != nil || v.Kind != drift.Differs || !slices.Equal(v.Fields, []string{"Title"}) {
		t.Fatalf("Verify = %v %q, %v; want differs [Title]", v.Kind, v.Fields, err)
	}
	if err := c.Repair(t.Context(), rec, v); err != nil {
		t.Fatal(err)
	}
	held := s.held(t, "A-1")
	if held.Title != "Pump 1" || held.Note != "call first" || held.Contact == nil || held.Contact.Phone != "555-0100" || held.Contact.Email != "ops@example.com" {
		t.Fatalf("after the repair the partner holds %+v %+v; want Title restored, the partner's Note and Phone kept", held, held.Contact)
	}
	if p := rec.Payload.(*SaveAsset); p.Note != "ours" || p.Contact.Phone != "" {
		t.Errorf("Repair changed the caller's payload: %+v %+v", p, p.Contact)
	}
}

func TestRepairDoesNotOverwriteALaterEdit(t *testing.T) {
	assetDrift().ConflictCases(t, []conntest.DriftCase[*assetService]{{
		Name:   "edited again",
		Want:   drift.Differs,
		Before: func(s *assetService) { s.edit("A-1", `<Asset><Key>A-1</Key><Title>first edit</Title></Asset>`) },
		During: func(s *assetService) { s.edit("A-1", `<Asset><Key>A-1</Key><Title>second edit</Title></Asset>`) },
		Kept: func(t *testing.T, s *assetService) {
			if held := s.held(t, "A-1"); held.Title != "second edit" {
				t.Fatalf("the partner holds %+v, want the second edit kept", held)
			}
		},
	}}, func(t *testing.T, s *assetService) func(*testing.T, error) {
		called := onlyGet(s, "Repair", "only the re-read")
		return func(t *testing.T, _ error) { called(t) }
	})
}

func TestVerifyWithoutReadOperation(t *testing.T) {
	s := newAssetService(t)
	c, err := soap.New(soap.Config{URL: s.srv.URL, Action: "urn:example:records/Save"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	rec := assetRecord("A-1")
	if _, err := c.Verify(t.Context(), rec); !errors.Is(err, soap.ErrNoRead) || !errors.Is(err, errors.ErrUnsupported) || !synclayer.IsPermanent(err) {
		t.Errorf("Verify without Read = %v, want permanent ErrNoRead", err)
	}
	if err := c.Repair(t.Context(), rec, drift.Verdict{Kind: drift.Missing}); !errors.Is(err, soap.ErrNoRead) {
		t.Errorf("Repair without Read = %v, want ErrNoRead", err)
	}
	if n := len(s.actions.Lines()); n != 0 {
		t.Errorf("the service got %d calls, want none", n)
	}
}

func TestCallClassifiesAsSync(t *testing.T) {
	answers := []conntest.Answer{
		{Status: 500, Body: `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><s:Fault><faultcode>s:Server</faultcode><faultstring>busy</faultstring></s:Fault></s:Body></s:Envelope>`, Kind: partner.ErrUnavailable},
		{Status: 500, Body: `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><s:Fault><faultcode>s:Client</faultcode><faultstring>no such op</faultstring></s:Fault></s:Body></s:Envelope>`, Kind: partner.ErrRejected, Permanent: true},
		// Not the partner's answer (a proxy's page): retried, as Sync does.
		{Status: 200, Body: `<html>not soap</html>`, Kind: partner.ErrUnavailable},
		{Status: 200, Body: `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body></s:Body></s:Envelope>`, Kind: partner.ErrRejected, Permanent: true},
		{Status: 503, Kind: partner.ErrUnavailable},
	}
	for _, a := range answers {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/xml")
			w.WriteHeader(a.Status)
			io.WriteString(w, a.Body)
		}))
		c, err := soap.New(soap.Config{URL: srv.URL, Read: readAsset})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Verify(t.Context(), assetRecord("A-1"))
		a.Check(t, err)
		c.Close()
		srv.Close()
	}
}

func TestRepairNeedsThePayloadTypeForOwnedFields(t *testing.T) {
	s := newAssetService(t)
	c, err := soap.New(soap.Config{
		URL: s.srv.URL, Action: "urn:example:records/Save", OwnedFields: []string{"Note"},
		Read: func(ctx context.Context, c *soap.Connector, key string) (any, error) {
			var resp GetAssetResponse
			err := c.Call(ctx, "urn:example:records/Get", GetAsset{Key: key}, &resp)
			return resp.Asset, err // an *Asset, not the payload's *SaveAsset
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	rec := assetRecord("A-1")
	if err := c.Sync(t.Context(), rec); err != nil {
		t.Fatal(err)
	}
	s.edit("A-1", `<Asset><Key>A-1</Key><Title>by hand</Title><Note>theirs</Note></Asset>`)
	v, err := c.Verify(t.Context(), rec)
	if err != nil || v.Kind != drift.Differs {
		t.Fatalf("Verify = %v %q, %v; want differs", v.Kind, v.Fields, err)
	}
	n := len(s.actions.Lines())
	if err := c.Repair(t.Context(), rec, v); !errors.Is(err, partner.ErrPayload) || !synclayer.IsPermanent(err) {
		t.Fatalf("Repair = %v, want a permanent ErrPayload", err)
	}
	if got := s.actions.Lines()[n:]; len(got) != 1 {
		t.Errorf("Repair called %v, want only the re-read", got)
	}
	if held := s.held(t, "A-1"); held.Note != "theirs" || held.Title != "by hand" {
		t.Errorf("the partner holds %+v, want it untouched", held)
	}
}
