package rest_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/connectors/internal/conntest"
	"github.com/hmsplatform/synclayer/connectors/internal/reqlog"
	"github.com/hmsplatform/synclayer/connectors/partner"
	"github.com/hmsplatform/synclayer/connectors/rest"
	"github.com/hmsplatform/synclayer/drift"
)

// tagPartner is a records API with ETags on an httptest server: GET
// returns the record and its ETag, PUT and DELETE honour If-Match and
// If-None-Match: *, and every stored change gets a new ETag.
type tagPartner struct {
	srv     *httptest.Server
	mu      sync.Mutex
	recs    map[string][]byte
	tags    map[string]string
	n       int
	methods reqlog.Log // every request's method, in order
	answer  func(w http.ResponseWriter) bool
}

func newTagPartner(t *testing.T) *tagPartner {
	p := &tagPartner{recs: map[string][]byte{}, tags: map[string]string{}}
	p.srv = httptest.NewServer(p)
	t.Cleanup(p.srv.Close)
	return p
}

func (p *tagPartner) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	key, _ := url.PathUnescape(strings.TrimPrefix(r.URL.EscapedPath(), "/records/"))
	p.mu.Lock()
	defer p.mu.Unlock()
	p.methods.Add(r.Method)
	if p.answer != nil && p.answer(w) {
		return
	}
	cur, ok := p.recs[key]
	if m := r.Header.Get("If-Match"); m != "" && (!ok || m != p.tags[key]) {
		w.WriteHeader(http.StatusPreconditionFailed)
		return
	}
	if r.Header.Get("If-None-Match") == "*" && ok && r.Method != http.MethodGet {
		w.WriteHeader(http.StatusPreconditionFailed)
		return
	}
	switch r.Method {
	case http.MethodGet:
		if !ok {
			http.Error(w, `{"error":"no such record"}`, http.StatusNotFound)
			return
		}
		w.Header().Set("ETag", p.tags[key])
		_, _ = w.Write(cur)
	case http.MethodPut:
		p.store(key, body)
		w.WriteHeader(http.StatusNoContent)
	case http.MethodDelete:
		if !ok {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		delete(p.recs, key)
		delete(p.tags, key)
		w.WriteHeader(http.StatusNoContent)
	default:
		w.WriteHeader(http.StatusMethodNotAllowed)
	}
}

func (p *tagPartner) store(key string, body []byte) {
	p.n++
	p.recs[key] = body
	p.tags[key] = `"` + strconv.Itoa(p.n) + `"`
}

// edit stores body for key by hand, as someone at the partner would.
func (p *tagPartner) edit(key, body string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.store(key, []byte(body))
}

// remove deletes key by hand.
func (p *tagPartner) remove(key string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.recs, key)
	delete(p.tags, key)
}

// held returns the stored record of key decoded, nil when there is none.
func (p *tagPartner) held(t *testing.T, key string) map[string]any {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	b, ok := p.recs[key]
	if !ok {
		return nil
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("partner holds non-JSON for %q: %q", key, b)
	}
	return m
}

func newTagConn(t *testing.T, p *tagPartner, cfg rest.Config) *rest.Connector {
	t.Helper()
	cfg.BaseURL = p.srv.URL
	c, err := rest.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// wfRecord is the record the drift tests push.
func wfRecord(key string) synclayer.Record {
	return synclayer.Record{Key: key, Version: 3, Payload: json.RawMessage(`{
		"id": "` + key + `", "title": "Intake", "count": 1, "due": "2026-11-29T18:00:00+01:00",
		"contact": {"email": "Ops@Example.com", "phone": null}, "tags": ["a", "b"], "note": "ours"}`)}
}

// wfDrift is the drift scenario of the tests: wfRecord of WF-1 pushed to
// a fresh tagPartner by a connector with cfg.
func wfDrift(cfg rest.Config) conntest.Drift[*tagPartner] {
	rec := wfRecord("WF-1")
	del := rec
	del.Delete = true
	return conntest.Drift[*tagPartner]{
		New: func(t *testing.T) (*tagPartner, conntest.Verifier) {
			p := newTagPartner(t)
			return p, newTagConn(t, p, cfg)
		},
		Record: rec, Deleted: del,
	}
}

func TestVerifyReportsKindAndFields(t *testing.T) {
	wfDrift(rest.Config{FoldCase: []string{"contact.email"}}).VerifyCases(t, []conntest.DriftCase[*tagPartner]{
		{Name: "as pushed", Want: drift.InSync},
		{Name: "stored the partner's way", Before: func(p *tagPartner) {
			// Numbers as floats, the time in UTC, the email folded, the null
			// left out, and the partner's own fields added.
			p.edit("WF-1", `{"id":"WF-1","title":"Intake","count":1.0,"due":"2026-11-29T17:00:00Z",
				"contact":{"email":"ops@example.com","createdBy":"agency"},"tags":["a","b"],"note":"ours",
				"rowid":17,"updated":"2026-11-29T17:00:01Z"}`)
		}, Want: drift.InSync},
		{Name: "title edited", Before: func(p *tagPartner) {
			p.edit("WF-1", `{"id":"WF-1","title":"Intake (edited)","count":1,"due":"2026-11-29T17:00:00Z",
				"contact":{"email":"ops@example.com"},"tags":["a","b"],"note":"ours"}`)
		}, Want: drift.Differs, Fields: []string{"title"}},
		{Name: "nested, array, number and time edited", Before: func(p *tagPartner) {
			p.edit("WF-1", `{"id":"WF-1","title":"Intake","count":2,"due":"2026-11-29T18:00:00Z",
				"contact":{"email":"other@example.com"},"tags":["b","a"],"note":"ours"}`)
		}, Want: drift.Differs, Fields: []string{"contact.email", "count", "due", "tags"}},
		{Name: "fields dropped and retyped", Before: func(p *tagPartner) {
			p.edit("WF-1", `{"id":"WF-1","count":"1","due":"2026-11-29T17:00:00Z","contact":"none","tags":["a","b"],"note":"ours"}`)
		}, Want: drift.Differs, Fields: []string{"contact", "count", "title"}},
		{Name: "deleted by hand", Before: func(p *tagPartner) { p.remove("WF-1") }, Want: drift.Missing},
		{Name: "delete done", Delete: true, Before: func(p *tagPartner) { p.remove("WF-1") }, Want: drift.InSync},
		{Name: "delete undone", Delete: true, Want: drift.Unexpected},
	}, func(t *testing.T, p *tagPartner) func(*testing.T, drift.Verdict) {
		n := len(p.methods.Lines())
		return func(t *testing.T, v drift.Verdict) {
			held := p.held(t, "WF-1") != nil
			if held != (v.ETag != "") || held != (v.State != nil) {
				t.Errorf("partner holds the record: %v, but the verdict's ETag is %q and State %v", held, v.ETag, v.State)
			}
			if got := p.methods.Lines()[n:]; !slices.Equal(got, []string{http.MethodGet}) {
				t.Errorf("Verify sent %v, want one GET", got)
			}
		}
	})
}

func TestVerifyCaseFoldingIsOptIn(t *testing.T) {
	p := newTagPartner(t)
	c := newTagConn(t, p, rest.Config{})
	rec := wfRecord("WF-1")
	p.edit("WF-1", `{"id":"WF-1","title":"INTAKE","count":1,"due":"2026-11-29T18:00:00+01:00",
		"contact":{"email":"ops@example.com"},"tags":["a","b"],"note":"ours"}`)
	v, err := c.Verify(t.Context(), rec)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"contact.email", "title"}; v.Kind != drift.Differs || !slices.Equal(v.Fields, want) {
		t.Fatalf("Verify = %v %q, want differs %q", v.Kind, v.Fields, want)
	}
}

func TestRepairRestoresTheRecord(t *testing.T) {
	conntest.RepairCases(t, wfDrift(rest.Config{}), []conntest.DriftCase[*tagPartner]{
		{Name: "edited", Want: drift.Differs, Before: func(p *tagPartner) {
			p.edit("WF-1", `{"id":"WF-1","title":"changed by hand","extra":true}`)
		}},
		{Name: "deleted", Want: drift.Missing, Before: func(p *tagPartner) { p.remove("WF-1") }},
		{Name: "added", Delete: true, Want: drift.Unexpected},
	}, func(t *testing.T, p *tagPartner) map[string]any { return p.held(t, "WF-1") },
		func(t *testing.T, del bool, pushed, held map[string]any) {
			if del && held != nil {
				t.Fatalf("after the repair of a delete the partner holds %v", held)
			}
			if !del && !equalAsJSON(t, held, pushed) {
				t.Fatalf("after the repair the partner holds %v, want %v", held, pushed)
			}
		})
}

func TestOwnedFieldsAreLeftToThePartner(t *testing.T) {
	p := newTagPartner(t)
	c := newTagConn(t, p, rest.Config{OwnedFields: []string{"note", "contact.phone"}})
	rec := wfRecord("WF-1")
	if err := c.Sync(t.Context(), rec); err != nil {
		t.Fatal(err)
	}
	// The agency writes its note and a phone number: not drift.
	p.edit("WF-1", `{"id":"WF-1","title":"Intake","count":1,"due":"2026-11-29T18:00:00+01:00",
		"contact":{"email":"Ops@Example.com","phone":"555-0100"},"tags":["a","b"],"note":"call first"}`)
	v, err := c.Verify(t.Context(), rec)
	if err != nil || v.Kind != drift.InSync {
		t.Fatalf("Verify after an owned-field edit = %v %q, %v; want in-sync", v.Kind, v.Fields, err)
	}
	// Someone also edits the title: drift in title only, and the repair
	// keeps the agency's note and phone.
	p.edit("WF-1", `{"id":"WF-1","title":"retitled","count":1,"due":"2026-11-29T18:00:00+01:00",
		"contact":{"email":"Ops@Example.com","phone":"555-0100"},"tags":["a","b"],"note":"call first"}`)
	v, err = c.Verify(t.Context(), rec)
	if err != nil || v.Kind != drift.Differs || !slices.Equal(v.Fields, []string{"title"}) {
		t.Fatalf("Verify = %v %q, %v; want differs [title]", v.Kind, v.Fields, err)
	}
	if err := c.Repair(t.Context(), rec, v); err != nil {
		t.Fatal(err)
	}
	held := p.held(t, "WF-1")
	contact, _ := held["contact"].(map[string]any)
	if held["title"] != "Intake" || held["note"] != "call first" || contact["phone"] != "555-0100" || contact["email"] != "Ops@Example.com" {
		t.Fatalf("after the repair the partner holds %v; want title Intake, the agency's note and phone kept", held)
	}
	// An owned field the partner removed stays removed.
	p.edit("WF-1", `{"id":"WF-1","title":"retitled","count":1,"due":"2026-11-29T18:00:00+01:00",
		"contact":{"email":"Ops@Example.com"},"tags":["a","b"]}`)
	if v, err = c.Verify(t.Context(), rec); err != nil {
		t.Fatal(err)
	}
	if err := c.Repair(t.Context(), rec, v); err != nil {
		t.Fatal(err)
	}
	if held := p.held(t, "WF-1"); held["title"] != "Intake" || held["note"] != nil {
		t.Fatalf("after the repair the partner holds %v; want title Intake and no note", held)
	}
}

func TestRepairDoesNotOverwriteALaterEdit(t *testing.T) {
	secondEdit := func(p *tagPartner) { p.edit("WF-1", `{"id":"WF-1","title":"second edit"}`) }
	wfDrift(rest.Config{}).ConflictCases(t, []conntest.DriftCase[*tagPartner]{
		{Name: "edited again", Before: func(p *tagPartner) {
			p.edit("WF-1", `{"id":"WF-1","title":"first edit"}`)
		}, During: secondEdit},
		{Name: "deleted, then created by hand", Before: func(p *tagPartner) { p.remove("WF-1") }, During: secondEdit},
		{Name: "added, then edited", Delete: true, During: secondEdit},
	}, func(t *testing.T, p *tagPartner) func(*testing.T, error) {
		return func(t *testing.T, err error) {
			if !errors.Is(err, partner.ErrConflict) {
				t.Fatalf("Repair over a later edit = %v, want partner.ErrConflict", err)
			}
			if held := p.held(t, "WF-1"); held["title"] != "second edit" {
				t.Fatalf("the partner holds %v, want the second edit kept", held)
			}
		}
	})
}

func TestRepairWithoutETagsWritesWhatSyncWrites(t *testing.T) {
	var got []*http.Request
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, r.Clone(r.Context()))
		if r.Method == http.MethodGet {
			_, _ = w.Write([]byte(`{"id":"WF-1","title":"old"}`))
		}
	}))
	t.Cleanup(srv.Close)
	c, err := rest.New(rest.Config{BaseURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	rec := wfRecord("WF-1")
	v, err := c.Verify(t.Context(), rec)
	if err != nil || v.ETag != "" || v.Kind != drift.Differs {
		t.Fatalf("Verify = %+v, %v; want differs without an ETag", v, err)
	}
	if err := c.Repair(t.Context(), rec, v); err != nil {
		t.Fatal(err)
	}
	if err := c.Sync(t.Context(), rec); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	repair, sync := got[1], got[2]
	if repair.Method != http.MethodPut || repair.Header.Get("If-Match") != "" || repair.Header.Get("If-None-Match") != "" {
		t.Errorf("repair sent %s with If-Match %q If-None-Match %q; want an unconditional PUT",
			repair.Method, repair.Header.Get("If-Match"), repair.Header.Get("If-None-Match"))
	}
	if ri, si := repair.Header.Get("Idempotency-Key"), sync.Header.Get("Idempotency-Key"); ri == "" || ri == si {
		t.Errorf("repair Idempotency-Key %q, Sync's %q: want a different one", ri, si)
	}
	if got[0].Header.Get("Content-Type") != "" || got[0].Header.Get("Accept") != "application/json" {
		t.Errorf("Verify's GET had headers %v", got[0].Header)
	}
}

func TestVerifyClassifiesErrorsAsSync(t *testing.T) {
	cases := map[string]conntest.Answer{
		"unavailable":  {Status: http.StatusServiceUnavailable, Body: `{"error":"down"}`, Kind: partner.ErrUnavailable},
		"rate limited": {Status: http.StatusTooManyRequests, Kind: partner.ErrRateLimited},
		"unauthorized": {Status: http.StatusUnauthorized, Kind: partner.ErrUnauthorized, Permanent: true},
		"bad request":  {Status: http.StatusBadRequest, Kind: partner.ErrRejected, Permanent: true},
		"not JSON":     {Status: http.StatusOK, Body: `<html>hello</html>`, Kind: partner.ErrRejected, Permanent: true},
		"two values":   {Status: http.StatusOK, Body: `{} {}`, Kind: partner.ErrRejected, Permanent: true},
	}
	for name, a := range cases {
		t.Run(name, func(t *testing.T) {
			p := newTagPartner(t)
			p.answer = func(w http.ResponseWriter) bool {
				w.WriteHeader(a.Status)
				_, _ = w.Write([]byte(a.Body))
				return true
			}
			c := newTagConn(t, p, rest.Config{})
			_, err := c.Verify(t.Context(), wfRecord("WF-1"))
			if !a.Check(t, err) {
				return
			}
			if !strings.HasPrefix(err.Error(), "rest: ") || !strings.Contains(err.Error(), "GET") {
				t.Errorf("error text %q should start with rest: and name the GET", err)
			}
		})
	}
	t.Run("bad key and payload", func(t *testing.T) {
		p := newTagPartner(t)
		c := newTagConn(t, p, rest.Config{})
		if _, err := c.Verify(t.Context(), synclayer.Record{Key: "..", Payload: 1}); !errors.Is(err, rest.ErrKey) || !synclayer.IsPermanent(err) {
			t.Errorf("Verify of key .. = %v, want permanent ErrKey", err)
		}
		if _, err := c.Verify(t.Context(), synclayer.Record{Key: "k"}); !errors.Is(err, partner.ErrPayload) || !synclayer.IsPermanent(err) {
			t.Errorf("Verify without payload = %v, want permanent ErrPayload", err)
		}
		if n := len(p.methods.Lines()); n != 0 {
			t.Errorf("the partner got %d requests, want none", n)
		}
	})
}

func TestConfigRefusesBadFieldNames(t *testing.T) {
	for _, cfg := range []rest.Config{
		{BaseURL: "http://x", OwnedFields: []string{""}},
		{BaseURL: "http://x", OwnedFields: []string{"a..b"}},
		{BaseURL: "http://x", FoldCase: []string{"a."}},
	} {
		if _, err := rest.New(cfg); !errors.Is(err, synclayer.ErrInvalidOption) {
			t.Errorf("New(%+v) = %v, want ErrInvalidOption", cfg, err)
		}
	}
}

func equalAsJSON(t *testing.T, a, b any) bool {
	t.Helper()
	x, err1 := json.Marshal(a)
	y, err2 := json.Marshal(b)
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	return string(x) == string(y)
}
