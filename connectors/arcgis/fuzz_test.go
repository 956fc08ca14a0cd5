package arcgis_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/connectors/arcgis"
	"github.com/hmsplatform/synclayer/connectors/arcgis/arcgistest"
)

// FuzzQuote checks that Quote makes one ArcGIS SQL string literal that
// reads back as the input: in single quotes, every inner quote doubled.
func FuzzQuote(f *testing.F) {
	for _, s := range []string{"", "WF-1", "Alfie's Trough", "'", "''", "' OR '1'='1", "a' --", "é日本", "\x00", "\\'"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		q := arcgis.Quote(s)
		if len(q) < 2 || q[0] != '\'' || q[len(q)-1] != '\'' {
			t.Fatalf("Quote(%q) = %q: not in single quotes", s, q)
		}
		inner := q[1 : len(q)-1]
		if strings.Contains(strings.ReplaceAll(inner, "''", ""), "'") {
			t.Fatalf("Quote(%q) = %q: a single quote ends the literal early", s, q)
		}
		if back := strings.ReplaceAll(inner, "''", "'"); back != s {
			t.Fatalf("Quote(%q) = %q reads back as %q", s, q, back)
		}
	})
}

// FuzzSyncKey pushes records with arbitrary keys to an arcgistest layer
// that also holds a bystander feature. A key is either refused with a
// permanent error or stored as exactly one feature under exactly that key;
// the bystander is never touched, whatever the key does to the where
// clause.
func FuzzSyncKey(f *testing.F) {
	for _, s := range []string{"WF-1", "O'Brien", "' OR KEY <> '", "x' OR '1'='1", "%", "_", "a\\b", "a\nb", "bystander' --"} {
		f.Add(s)
	}
	layer := arcgistest.NewLayer("KEY")
	srv := httptest.NewServer(layer)
	f.Cleanup(srv.Close)
	conn, err := arcgis.New(arcgis.Config{LayerURL: srv.URL + "/arcgis/rest/services/f/FeatureServer/0", KeyField: "KEY", HTTPClient: srv.Client()})
	if err != nil {
		f.Fatal(err)
	}
	ctx := context.Background()
	const bystander = "bystander"
	if err := conn.Sync(ctx, synclayer.Record{Key: bystander, Payload: arcgis.Feature{Attributes: map[string]any{"NAME": "keep"}}}); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, key string) {
		if key == bystander || !utf8.ValidString(key) {
			return // the dispatcher never passes a key that is not UTF-8
		}
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		err := conn.Sync(ctx, synclayer.Record{Key: key, Payload: arcgis.Feature{Attributes: map[string]any{"NAME": "fuzz"}}})
		if err != nil && !synclayer.IsPermanent(err) {
			t.Fatalf("Sync(%q): retryable error %v", key, err)
		}
		if err == nil {
			if got := layer.ByKey(key); len(got) != 1 {
				t.Fatalf("Sync(%q) stored %d features under the key", key, len(got))
			}
		}
		if by := layer.ByKey(bystander); len(by) != 1 || by[0].Attributes["NAME"] != "keep" {
			t.Fatalf("Sync(%q) touched the bystander: %+v", key, by)
		}
	})
}
