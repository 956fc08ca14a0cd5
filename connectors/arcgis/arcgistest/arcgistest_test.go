package arcgistest_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/hmsplatform/synclayer/connectors/arcgis/arcgistest"
)

func post(t *testing.T, srv *httptest.Server, op string, form url.Values, header ...string) map[string]any {
	t.Helper()
	form.Set("f", "json")
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/arcgis/rest/services/A/FeatureServer/0/"+op, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if len(header) == 2 {
		req.Header.Set(header[0], header[1])
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: ArcGIS answers errors with 200", resp.StatusCode)
	}
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

func errCode(m map[string]any) float64 {
	e, _ := m["error"].(map[string]any)
	c, _ := e["code"].(float64)
	return c
}

func TestLayer(t *testing.T) {
	layer := arcgistest.NewLayer("K", arcgistest.RequireToken("tok"))
	srv := httptest.NewServer(layer)
	defer srv.Close()
	auth := []string{"X-Esri-Authorization", "Bearer tok"}

	if c := errCode(post(t, srv, "query", url.Values{"where": {"K = 'a'"}})); c != 499 {
		t.Fatalf("no token: code %v, want 499", c)
	}
	if c := errCode(post(t, srv, "query", url.Values{"where": {"K = 'a'"}}, "X-Esri-Authorization", "Bearer nope")); c != 498 {
		t.Fatalf("bad token: code %v, want 498", c)
	}
	add := post(t, srv, "applyEdits", url.Values{"adds": {`[{"attributes":{"K":"O'Hare","N":1}}]`}}, auth...)
	if r := add["addResults"].([]any)[0].(map[string]any); r["success"] != true || r["objectId"] != 1.0 {
		t.Fatalf("add = %v", add)
	}
	q := post(t, srv, "query", url.Values{"where": {"K = 'O''Hare'"}, "returnIdsOnly": {"true"}}, auth...)
	if ids := q["objectIds"].([]any); len(ids) != 1 || ids[0] != 1.0 {
		t.Fatalf("query by quoted key = %v", q)
	}
	// Injection attempts are syntax errors, never a broader match.
	for _, where := range []string{"K = 'x' OR '1'='1'", "K = 'x'--", "1=1", "K = 'O'Hare'"} {
		if c := errCode(post(t, srv, "query", url.Values{"where": {where}}, auth...)); c != 400 {
			t.Errorf("where %q: code %v, want 400", where, c)
		}
	}
	// A failed update rolls the whole request back.
	res := post(t, srv, "applyEdits", url.Values{
		"adds":    {`[{"attributes":{"K":"b"}}]`},
		"updates": {`[{"attributes":{"OBJECTID":99,"N":2}}]`},
	}, auth...)
	if r := res["updateResults"].([]any)[0].(map[string]any); r["success"] != false {
		t.Fatalf("update of a missing feature = %v", res)
	}
	if n := len(layer.Features()); n != 1 {
		t.Fatalf("%d features after a rolled-back request, want 1", n)
	}
	post(t, srv, "applyEdits", url.Values{"deletes": {"1"}}, auth...)
	if n := len(layer.ByKey("O'Hare")); n != 0 {
		t.Fatalf("%d features after delete, want 0", n)
	}
}

// A nil Option is skipped, as every constructor of the library skips one,
// so an option list can be built conditionally.
func TestNilOptionSkipped(t *testing.T) {
	var none arcgistest.Option
	l := arcgistest.NewLayer("KEY", none, arcgistest.UniqueKey())
	l.Add(map[string]any{"KEY": "a"})
	if got := len(l.ByKey("a")); got != 1 {
		t.Fatalf("a layer built with a nil option holds %d features for key a; want 1", got)
	}
}
