package rest_test

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"net/url"
	"strings"
	"testing"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/connectors/partner"
	"github.com/hmsplatform/synclayer/connectors/rest"
)

func TestOddKeysReachThePartnerExactly(t *testing.T) {
	keys := []string{
		"a/b", "a%2Fb", "../etc/passwd", "x/..", "50%", "%zz", `quote"d'key`, "with space",
		"x?y#z&w=1", "semi;colon", "plus+sign", "Grüße-日本-🚀", "a\r\nX-Injected: 1", "tab\there",
	}
	p := newPartner(t)
	conn, err := rest.New(rest.Config{BaseURL: p.srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for i, key := range keys {
		if err := conn.Sync(t.Context(), rec(key, int64(i+1))); err != nil {
			t.Errorf("key %q: %v", key, err)
		}
	}
	reqs := p.requests()
	if len(reqs) != len(keys) {
		t.Fatalf("%d requests for %d keys", len(reqs), len(keys))
	}
	for i, key := range keys {
		r := reqs[i]
		if r.Key != key || r.Path != "/records/"+url.PathEscape(key) {
			t.Errorf("key %q arrived as %q at %q", key, r.Key, r.Path)
		}
		if r.Header.Get("X-Injected") != "" {
			t.Errorf("key %q injected a header", key)
		}
		if got := p.versions(key); len(got) != 1 || got[0] != int64(i+1) {
			t.Errorf("key %q holds %v", key, got)
		}
	}
}

func TestDotKeysRefused(t *testing.T) {
	p := newPartner(t)
	conn, _ := rest.New(rest.Config{BaseURL: p.srv.URL})
	defer conn.Close()
	for _, key := range []string{".", ".."} {
		err := conn.Sync(t.Context(), rec(key, 1))
		if !errors.Is(err, rest.ErrKey) || !synclayer.IsPermanent(err) {
			t.Errorf("key %q: %v, want permanent ErrKey", key, err)
		}
	}
	if n := len(p.requests()); n != 0 {
		t.Errorf("%d requests sent", n)
	}
}

func TestBadPayloads(t *testing.T) {
	p := newPartner(t)
	conn, _ := rest.New(rest.Config{BaseURL: p.srv.URL, MaxPayloadBytes: 64})
	defer conn.Close()
	bad := map[string]any{
		"nil":          nil,
		"channel":      make(chan int),
		"NaN":          math.NaN(),
		"function":     func() {},
		"invalid raw":  json.RawMessage(`{"open":`),
		"invalid byte": []byte("not json"),
		"too large":    map[string]string{"x": strings.Repeat("x", 100)},
	}
	for name, pl := range bad {
		r := rec("k", 1)
		r.Payload = pl
		err := conn.Sync(context.Background(), r)
		if !errors.Is(err, partner.ErrPayload) || !synclayer.IsPermanent(err) {
			t.Errorf("%s: %v, want permanent ErrPayload", name, err)
		}
		if !strings.HasPrefix(err.Error(), "rest: ") {
			t.Errorf("%s: error %q lacks the package prefix", name, err)
		}
	}
	if n := len(p.requests()); n != 0 {
		t.Errorf("%d requests sent for bad payloads", n)
	}
}
