package arcgistest_test

import (
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/hmsplatform/synclayer/connectors/arcgis/arcgistest"
)

// Injected faults answer, refuse, stall or lose one matching request each;
// UniqueKey refuses a second feature of a key; Add, Wheres and Requests
// show state and traffic (a query answered by a fault is counted but
// never read).
func TestFaults(t *testing.T) {
	layer := arcgistest.NewLayer("K", arcgistest.UniqueKey())
	srv := httptest.NewServer(layer)
	defer srv.Close()
	first := layer.Add(map[string]any{"K": "a", "N": "theirs"})
	if got := layer.ByKey("a"); len(got) != 1 || got[0].ObjectID != first || got[0].Attributes["N"] != "theirs" {
		t.Fatalf("Add stored %+v", got)
	}

	layer.Inject(arcgistest.Fault{Op: "query", Body: `{"error":{"code":503,"message":"busy"}}`})
	if c := errCode(post(t, srv, "query", url.Values{"where": {"K = 'a'"}})); c != 503 {
		t.Errorf("injected answer: code %v, want 503", c)
	}
	if got := post(t, srv, "query", url.Values{"where": {"K = 'a'"}, "returnIdsOnly": {"true"}}); len(got["objectIds"].([]any)) != 1 {
		t.Errorf("after the fault: %v, want the feature", got)
	}

	add := func(key string) map[string]any {
		return post(t, srv, "applyEdits", url.Values{"adds": {`[{"attributes":{"K":"` + key + `"}}]`}})
	}
	res := add("a")["addResults"].([]any)[0].(map[string]any)
	if res["success"] != false || res["error"].(map[string]any)["code"] != float64(1000) {
		t.Errorf("second feature of a key under UniqueKey: %v, want error 1000", res)
	}
	layer.Inject(arcgistest.Fault{Op: "applyEdits", FeatureCode: 1019})
	res = add("b")["addResults"].([]any)[0].(map[string]any)
	if res["success"] != false || res["error"].(map[string]any)["code"] != float64(1019) || len(layer.ByKey("b")) != 0 {
		t.Errorf("refused add: %v, layer holds %v", res, layer.ByKey("b"))
	}

	layer.Inject(arcgistest.Fault{Lost: true})
	form := url.Values{"f": {"json"}, "adds": {`[{"attributes":{"K":"c"}}]`}}
	resp, err := srv.Client().Post(srv.URL+"/x/FeatureServer/0/applyEdits", "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
	if err == nil {
		resp.Body.Close()
		t.Error("a lost answer arrived")
	}
	if len(layer.ByKey("c")) != 1 {
		t.Error("the edit whose answer was lost was not applied")
	}

	if want := []string{"K = 'a'"}; !slices.Equal(layer.Wheres(), want) {
		t.Errorf("Wheres = %q, want %q", layer.Wheres(), want)
	}
	if n := layer.Requests(); n != 5 {
		t.Errorf("Requests = %d, want 5", n)
	}
}
