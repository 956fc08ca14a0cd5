package httpx_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/connectors/partner"
	"github.com/hmsplatform/synclayer/internal/httpx"
	"github.com/hmsplatform/synclayer/synclayertest"
)

func Example() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "3")
		w.WriteHeader(http.StatusTooManyRequests)
		fmt.Fprint(w, `{"error":"slow down"}`)
	}))
	defer srv.Close()

	c := &httpx.Classifier{Prefix: "rest"}
	req, _ := http.NewRequest(http.MethodPut, srv.URL+"/records/a?token=secret-value", nil)
	resp, err := srv.Client().Do(req)
	err = c.Check(req, resp, err)

	hint, _ := synclayertest.RetryAfterHint(err)
	fmt.Println(errors.Is(err, partner.ErrRateLimited), synclayer.IsPermanent(err), hint)
	var e *partner.Error
	if errors.As(err, &e) {
		fmt.Println(e.StatusCode, e.URL[len(srv.URL):])
		fmt.Println(e.Body)
	}
	// Output:
	// true false 3s
	// 429 /records/a?…
	// {"error":"slow down"}
}
