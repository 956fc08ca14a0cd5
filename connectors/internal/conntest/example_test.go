package conntest_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/hmsplatform/synclayer/connectors/internal/conntest"
)

// A partner fake takes the next queued fault for each request; with none
// queued it answers normally.
func ExampleFaults() {
	var faults conntest.Faults
	faults.Inject(conntest.Status(http.StatusServiceUnavailable, "busy", "Retry-After", "2"))

	for range 2 {
		w := httptest.NewRecorder()
		apply := func() int { return http.StatusNoContent }
		if f := faults.Next(); f != nil {
			f(w, httptest.NewRequest(http.MethodPut, "/records/a", nil), apply)
		} else {
			w.WriteHeader(apply())
		}
		fmt.Println(w.Code, w.Header().Get("Retry-After"), w.Body.String())
	}
	// Output:
	// 503 2 busy
	// 204
}
